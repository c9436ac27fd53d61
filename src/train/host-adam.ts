// Adam with its moments and the accumulated gradients in JavaScript memory, not in the backend's.
// The wasm backend has one 4 GiB heap: full-width VGG16's fc6 alone is 411 MB, and tfjs's own
// AdamOptimizer keeps two moments per weight there and makes about ten weight-sized temporaries
// per update, which ended full-width training in `Aborted()`. Here the heap holds only the weights,
// one micro-batch's gradients and activations; the update runs over typed arrays.
//
// Same rule and constants as tfjs's AdamOptimizer (β1 0.9, β2 0.999, ε 1e-7, bias correction by
// the running products accBeta1/accBeta2), and the same checkpoint layout: 'iter', then every
// variable's `NAME/m`, then every `NAME/v`, so checkpoints written before this file still load.

import { tf } from '../model/tf.js';

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
  }

  /** Adds one micro-batch's gradients (in variable order) to the sum the next update uses, disposing them. */
  accumulate(gradients: tf.Tensor[]): void {
    if (gradients.length !== this.variables.length)
      throw new Error(`HostAdam: ${gradients.length} gradients for ${this.variables.length} variables`);
    gradients.forEach((gradient, i) => {
      const values = gradient.dataSync() as Float32Array;
      gradient.dispose();
      const sum = this.accumulated[i]!;
      for (let j = 0; j < sum.length; j++) sum[j]! += values[j]!;
    });
  }

  /**
   * Adds one micro-batch's gradients given as one array, every variable's values in variable order
   * (a gradient worker's shared buffer, src/train/gradient-workers.ts); the same float32 sums as accumulate().
   */
  accumulateConcatenated(gradients: Float32Array): void {
    const total = this.accumulated.reduce((n, sum) => n + sum.length, 0);
    if (total !== gradients.length)
      throw new Error(`HostAdam: ${gradients.length} gradient values for ${total} weights`);
    let offset = 0;
    this.accumulated.forEach((sum) => {
      const values = gradients.subarray(offset, offset + sum.length);
      for (let j = 0; j < sum.length; j++) sum[j]! += values[j]!;
      offset += sum.length;
    });
  }

  /** One Adam update with the accumulated gradients, which are then cleared. */
  update(): void {
    this.updating = true;
    const oneMinusAccBeta1 = 1 - this.accBeta1;
    const oneMinusAccBeta2 = 1 - this.accBeta2;
    const rate = this.learningRate;
    this.variables.forEach((variable, i) => {
      const gradient = this.accumulated[i]!;
      const m = this.first[i]!;
      const v = this.second[i]!;
      const weights = variable.dataSync() as Float32Array;
      const updated = new Float32Array(weights.length);
      for (let j = 0; j < weights.length; j++) {
        const g = gradient[j]!;
        const mj = BETA1 * m[j]! + (1 - BETA1) * g;
        const vj = BETA2 * v[j]! + (1 - BETA2) * g * g;
        m[j] = mj;
        v[j] = vj;
        updated[j] =
          weights[j]! - (rate * (mj / oneMinusAccBeta1)) / (Math.sqrt(vj / oneMinusAccBeta2) + EPSILON);
      }
      gradient.fill(0);
      // assign() replaces the variable's data; the old buffer is freed at once, so the heap holds
      // at most one extra copy of the largest weight.
      const next = tf.tensor(updated, variable.shape, 'float32');
      variable.assign(next);
      next.dispose();
    });
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
