// HostAdam against tfjs's own AdamOptimizer (same rule and constants), on wasm and cpu, and its host
// copy of the weights against weights that change outside an update.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../../src/model/tf.js';
import { initTrainingTf } from '../../../src/train/kernels/tf-training.js';
import { HostAdam } from '../../../src/train/step/host-adam.js';

const SHAPES = [[3, 3, 2, 4], [4], [5, 7]];

function pseudoRandom(size: number, seed: number): Float32Array {
  const values = new Float32Array(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    values[i] = state / 0x7fffffff - 0.5;
  }
  return values;
}

function makeVariables(prefix: string): tf.Variable[] {
  return SHAPES.map((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.variable(tf.tensor(pseudoRandom(size, 10 + i), shape), true, `${prefix}${i}`);
  });
}

function gradientsFor(step: number): tf.Tensor[] {
  return SHAPES.map((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    // Sizes that differ by parameter and step, so moments and bias correction matter.
    return tf.mul(tf.tensor(pseudoRandom(size, 100 * step + i), shape), 10 ** (i - 1));
  });
}

/** The largest |host - reference| over all weights, relative to the largest weight change so far. */
function worstDifference(host: tf.Variable[], reference: tf.Variable[], initial: Float32Array[]): number {
  let worst = 0;
  let largestChange = 0;
  host.forEach((variable, i) => {
    const a = variable.dataSync();
    const b = reference[i]!.dataSync();
    for (let j = 0; j < a.length; j++) {
      worst = Math.max(worst, Math.abs(a[j]! - b[j]!));
      largestChange = Math.max(largestChange, Math.abs(b[j]! - initial[i]![j]!));
    }
  });
  assert.ok(largestChange > 0, 'the reference did not move');
  return worst / largestChange;
}

for (const backend of ['wasm', 'cpu'] as const) {
  test(`HostAdam takes the same steps as tfjs's AdamOptimizer on ${backend}, with two micro-batches and weights assigned between steps`, async () => {
    await initTrainingTf(backend);
    const learningRate = 1e-2;
    const hostVariables = makeVariables(`host-${backend}-`);
    const referenceVariables = makeVariables(`reference-${backend}-`);
    const initial = referenceVariables.map((v) => (v.dataSync() as Float32Array).slice());
    const host = new HostAdam(hostVariables, learningRate);
    const reference = tf.train.adam(learningRate, 0.9, 0.999, 1e-7);
    try {
      for (let step = 0; step < 6; step++) {
        if (step === 3) {
          // What loading weights into a live model does: new data under the same variables.
          for (const variables of [hostVariables, referenceVariables])
            variables.forEach((variable, i) => {
              variable.assign(tf.tensor(pseudoRandom(variable.size, 50 + i), variable.shape));
            });
        }
        // The host sums two micro-batches (g and g again, halved); the reference takes g at once.
        const gradients = gradientsFor(step);
        host.accumulate(gradients.map((g) => tf.mul(g, 0.5)));
        host.accumulate(gradients.map((g) => tf.mul(g, 0.5)));
        host.update();
        reference.applyGradients(referenceVariables.map((v, i) => ({ name: v.name, tensor: gradients[i]! })));
        for (const g of gradients) g.dispose();
        const worst = worstDifference(hostVariables, referenceVariables, initial);
        // float32 rounding is ~1e-7 of a weight; a step from stale weights or a wrong bias
        // correction is the size of a step, 1e-2 here.
        assert.ok(worst < 1e-4, `step ${step + 1}: max |host - tfjs Adam| = ${worst} of the largest change`);
      }
    } finally {
      for (const variable of [...hostVariables, ...referenceVariables]) variable.dispose();
      reference.dispose();
    }
  });
}
