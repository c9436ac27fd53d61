// Adam with its moments and the accumulated gradients in JavaScript memory, not in the backend's.
// The wasm backend has one 4 GiB heap: full-width VGG16's fc6 alone is 411 MB, and tfjs's own
// AdamOptimizer keeps two moments per weight there and makes about ten weight-sized temporaries
// per update, which ended full-width training in `Aborted()`. Here the heap holds only the weights,
// one micro-batch's gradients and activations; the update runs over typed arrays.
//
// Same rule and constants as tfjs's AdamOptimizer (β1 0.9, β2 0.999, ε 1e-7, bias correction by
// the running products accBeta1/accBeta2), and the same checkpoint layout: 'iter', then every
// variable's `NAME/m`, then every `NAME/v`, so checkpoints written before this file still load.

import type { TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../model/tf.js';
import type { WasmBackendLike } from '../kernels/wasm-backend-access.js';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

export interface AdamMoment {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface HostAdamState {
  iterations: number;
  accBeta1: number;
  accBeta2: number;
  /** Every variable's first moment (`NAME/m`) in variable order, then every second moment (`NAME/v`). */
  moments: AdamMoment[];
}

export class HostAdam {
  learningRate: number;
  private iterations = 0;
  private accBeta1 = BETA1;
  private accBeta2 = BETA2;
  private readonly first: Float32Array[];
  private readonly second: Float32Array[];
  /** Σ of the micro-batches' gradients since the last update, one per variable. */
  private readonly accumulated: Float32Array[];
  /** How many micro-batches `accumulated` holds: the first one is copied in, not added to zeros. */
  private accumulatedCount = 0;
  /**
   * The weights as the last update left them, so that an update reads no weight back from the
   * backend. Each is valid while its variable still holds `hostDataIds[i]`: anything else that
   * assigns the variable (a checkpoint loaded into it) gives it new data, and the copy is re-read.
   */
  private readonly hostWeights: Float32Array[];
  private readonly hostDataIds: (object | undefined)[];
  /** Set while update() runs: an update cut short leaves some weights and moments one step ahead. */
  private updating = false;

  constructor(
    private readonly variables: tf.Variable[],
    learningRate: number,
  ) {
    this.learningRate = learningRate;
    this.first = variables.map((v) => new Float32Array(v.size));
    this.second = variables.map((v) => new Float32Array(v.size));
    this.accumulated = variables.map((v) => new Float32Array(v.size));
    this.hostWeights = variables.map((v) => new Float32Array(v.size));
    this.hostDataIds = variables.map(() => undefined);
  }

  /** Adds one micro-batch's gradients (in variable order) to the sum the next update uses, disposing them. */
  accumulate(gradients: tf.Tensor[]): void {
    if (gradients.length !== this.variables.length)
      throw new Error(`HostAdam: ${gradients.length} gradients for ${this.variables.length} variables`);
    const first = this.accumulatedCount === 0;
    gradients.forEach((gradient, i) => {
      try {
        const values = readWithoutCopy(gradient);
        const sum = this.accumulated[i]!;
        if (first) sum.set(values);
        else addInto(sum, values);
      } finally {
        gradient.dispose();
      }
    });
    this.accumulatedCount += 1;
  }

  /**
   * Adds one micro-batch's gradients given as one array, every variable's values in variable order
   * (a gradient worker's shared buffer, src/train/step/gradient-workers.ts); the same float32 sums as accumulate().
   */
  accumulateConcatenated(gradients: Float32Array): void {
    const total = this.accumulated.reduce((n, sum) => n + sum.length, 0);
    if (total !== gradients.length)
      throw new Error(`HostAdam: ${gradients.length} gradient values for ${total} weights`);
    const first = this.accumulatedCount === 0;
    let offset = 0;
    this.accumulated.forEach((sum) => {
      const values = gradients.subarray(offset, offset + sum.length);
      if (first) sum.set(values);
      else addInto(sum, values);
      offset += sum.length;
    });
    this.accumulatedCount += 1;
  }

  /** One Adam update with the accumulated gradients, which are then cleared. */
  update(): void {
    this.updating = true;
    if (this.accumulatedCount === 0) this.discardAccumulated();
    const stepSize = this.learningRate / (1 - this.accBeta1);
    const secondScale = 1 / (1 - this.accBeta2);
    // On wasm, tf.tensor copies the values into the heap; other backends may keep the array itself.
    const copyForBackend = tf.getBackend() !== 'wasm';
    this.variables.forEach((variable, i) => {
      const weights = this.hostWeights[i]!;
      if (this.hostDataIds[i] !== variable.dataId) weights.set(variable.dataSync() as Float32Array);
      adamStep(weights, this.accumulated[i]!, this.first[i]!, this.second[i]!, stepSize, secondScale);
      // assign() gives the variable new data (and a new id, which drops XNNPACK's packed copy of
      // the old filter); the old buffer is freed at once, so the backend holds one weight-sized
      // copy at a time. Writing into the old buffer instead would leave that packed copy stale.
      const next = tf.tensor(copyForBackend ? weights.slice() : weights, variable.shape, 'float32');
      variable.assign(next);
      next.dispose();
      this.hostDataIds[i] = variable.dataId;
    });
    this.accumulatedCount = 0;
    this.accBeta1 *= BETA1;
    this.accBeta2 *= BETA2;
    this.iterations += 1;
    this.updating = false;
  }

  /** False when an update failed half-way: the weights and moments then belong to no single step. */
  get consistent(): boolean {
    return !this.updating;
  }

  /** Drops the gradients summed so far (a step that failed before its update). */
  discardAccumulated(): void {
    for (const sum of this.accumulated) sum.fill(0);
    this.accumulatedCount = 0;
  }

  state(): HostAdamState {
    const name = (i: number, suffix: string) => `${this.variables[i]!.name}/${suffix}`;
    return {
      iterations: this.iterations,
      accBeta1: this.accBeta1,
      accBeta2: this.accBeta2,
      moments: [
        ...this.first.map((values, i) => ({ name: name(i, 'm'), shape: this.variables[i]!.shape, values })),
        ...this.second.map((values, i) => ({ name: name(i, 'v'), shape: this.variables[i]!.shape, values })),
      ],
    };
  }

  /** Restores a checkpoint's state; moments are matched to variables by position, as tfjs does. */
  restore(state: HostAdamState): void {
    const count = this.variables.length;
    if (state.moments.length !== 2 * count)
      throw new Error(`optimizer state has ${state.moments.length} moments for ${count} variables`);
    state.moments.forEach((moment, k) => {
      const target = k < count ? this.first[k]! : this.second[k - count]!;
      if (moment.values.length !== target.length)
        throw new Error(
          `optimizer moment ${moment.name} has ${moment.values.length} values, expected ${target.length}`,
        );
      target.set(moment.values);
    });
    this.iterations = state.iterations;
    this.accBeta1 = state.accBeta1;
    this.accBeta2 = state.accBeta2;
  }
}

/** m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², w ← w − stepSize·m / (√(v·secondScale) + ε), in one pass. */
function adamStep(
  weights: Float32Array,
  gradient: Float32Array,
  m: Float32Array,
  v: Float32Array,
  stepSize: number,
  secondScale: number,
): void {
  for (let j = 0; j < weights.length; j++) {
    const g = gradient[j]!;
    const mj = BETA1 * m[j]! + (1 - BETA1) * g;
    const vj = BETA2 * v[j]! + (1 - BETA2) * g * g;
    m[j] = mj;
    v[j] = vj;
    weights[j]! -= (stepSize * mj) / (Math.sqrt(vj * secondScale) + EPSILON);
  }
}

function addInto(sum: Float32Array, values: Float32Array): void {
  for (let j = 0; j < sum.length; j++) sum[j]! += values[j]!;
}

/** A tensor's values: on wasm a view of the heap (valid until the next allocation), elsewhere dataSync(). */
function readWithoutCopy(tensor: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm')
    return (tf.backend() as unknown as WasmBackendLike).typedArrayFromHeap(tensor as unknown as TensorInfo);
  return tensor.dataSync() as Float32Array;
}
