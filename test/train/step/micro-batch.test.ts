import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSyntheticRoadSource, SYNTHETIC_ROAD_CLASSES } from '../../../src/data/synthetic-road.js';
import { createFcn8s } from '../../../src/model/fcn8s.js';
import { tf } from '../../../src/model/tf.js';
import { uniformClassWeights } from '../../../src/train/class-weights.js';
import { initTrainingTf } from '../../../src/train/kernels/tf-training.js';
import { HostAdam } from '../../../src/train/step/host-adam.js';
import { trainableVariables, trainStep } from '../../../src/train/step/step.js';
import { tinyFcnConfig } from '../tiny-model.js';

const size = { height: 32, width: 64 };

/** Adam's first moment after one step is (1 − β1)·gradient: the step's summed gradient, read back. */
async function firstStepGradient(microBatchSize: number): Promise<{ gradient: Float32Array; loss: number }> {
  const model = createFcn8s(tinyFcnConfig(size, 'fcn8s'), { seed: 7, classes: SYNTHETIC_ROAD_CLASSES });
  const variables = trainableVariables(model);
  const optimizer = new HostAdam(variables, 1e-3);
  // Uneven class weights, so that micro-batches with different labelled weight must be weighed right.
  const weights = tf.tensor1d(uniformClassWeights(SYNTHETIC_ROAD_CLASSES).map((w, id) => w * (1 + id)));
  const source = createSyntheticRoadSource({ imageSize: size, numTraining: 4, numValidation: 1, seed: 3 });
  const batch = (await source.trainGenerator(4).next()).value;
  assert.ok(batch);
  const loss = trainStep(model, optimizer, variables, batch, weights, 0, 'BGR', 0, microBatchSize);
  const moments = optimizer.state().moments.slice(0, variables.length);
  const gradient = new Float32Array(moments.reduce((n, m) => n + m.values.length, 0));
  let offset = 0;
  for (const moment of moments) {
    for (const value of moment.values) gradient[offset++] = value / 0.1;
  }
  weights.dispose();
  model.dispose();
  return { gradient, loss };
}

test('micro-batches of 1 and 3 sum to the gradient and loss of the whole batch of 4 (gradient accumulation)', async () => {
  await initTrainingTf('wasm');
  const whole = await firstStepGradient(4);
  for (const microBatchSize of [1, 3]) {
    const parts = await firstStepGradient(microBatchSize);
    assert.ok(Math.abs(parts.loss - whole.loss) < 1e-4 * whole.loss, `loss ${parts.loss} vs ${whole.loss}`);
    let largest = 0;
    let worst = 0;
    for (let i = 0; i < whole.gradient.length; i++) {
      largest = Math.max(largest, Math.abs(whole.gradient[i]!));
      worst = Math.max(worst, Math.abs(parts.gradient[i]! - whole.gradient[i]!));
    }
    // Float sums in another order differ by ~1e-6 of the largest component; a micro-batch weighed
    // by its own pixels instead of the batch's would be off by tens of percent.
    assert.ok(worst < 1e-4 * largest, `micro-batch ${microBatchSize}: max difference ${worst} of ${largest}`);
  }
});
