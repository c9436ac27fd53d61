// Data-parallel training steps: a batch's micro-batches (parts) are spread over the main thread
// and N gradient workers (gradient-worker.ts), each with its own copy of the model on its own
// backend (on wasm: its own heap and its own core). The weights go to the workers through one
// SharedArrayBuffer, each worker's gradients come back through its own, and the main thread sums
// them in part order before the Adam update, so a step gives the same weights as the
// single-threaded trainStep with the same micro-batch, whatever the number of workers or the timing.

import type { Worker } from 'node:worker_threads';
import type { SegmentationBatch } from '../../data/types.js';
import type { FcnModel } from '../../model/fcn8s.js';
import type { tf } from '../../model/tf.js';
import { siblingWorker } from '../../system/sibling-module.js';
import {
  CONTROL_VERSION,
  type GradientWorkerData,
  type GradientWorkerReply,
  type PartRequest,
  type WorkerFailure,
} from './gradient-protocol.js';
import type { HostAdam } from './host-adam.js';
import {
  batchDenominator,
  batchParts,
  type ChannelOrder,
  partDropoutSeed,
  partGradients,
  sliceBatch,
} from './step.js';

/** A gradient worker that threw or died; `outOfMemory` when its wasm heap ran out. */
export class GradientWorkerFailed extends Error {
  constructor(
    readonly worker: number,
    readonly what: string,
    readonly outOfMemory: boolean,
  ) {
    super(`gradient worker ${worker} ${outOfMemory ? 'ran out of wasm memory: ' : 'failed: '}${what}`);
    this.name = 'GradientWorkerFailed';
  }
}

export interface GradientWorkersOptions {
  count: number;
  model: FcnModel;
  variables: tf.Variable[];
  backend: 'wasm' | 'cpu';
  classWeights: Float32Array;
  channelOrder: ChannelOrder;
  dropoutRate: number;
  /** The largest part a worker is given (the micro-batch). */
  maxPartImages: number;
  height: number;
  width: number;
}

interface Pending {
  resolve: (loss: number) => void;
  reject: (error: Error) => void;
}

class GradientWorker {
  readonly gradients: Float32Array;
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  private pending: Pending | undefined;
  private nextId = 0;
  /** Why this worker can no longer take parts (it failed or exited). */
  private lost: GradientWorkerFailed | undefined;
  private stopping = false;

  private constructor(
    readonly index: number,
    private readonly thread: Worker,
    data: GradientWorkerData,
  ) {
    this.gradients = new Float32Array(data.gradients);
    this.images = new Uint8Array(data.images);
    this.labels = new Uint8Array(data.labels);
  }

  /** Starts the thread and waits until its model is built. */
  static start(data: GradientWorkerData): Promise<GradientWorker> {
    const thread = siblingWorker(import.meta.url, 'gradient-worker', { workerData: data });
    const worker = new GradientWorker(data.worker, thread, data);
    return new Promise((resolve, reject) => {
      let ready = false;
      thread.on('message', (reply: GradientWorkerReply) => {
        if (reply.type === 'ready') {
          ready = true;
          resolve(worker);
        } else if (reply.type === 'done') worker.settle()?.resolve(reply.loss);
        else {
          const error = worker.failed(reply.failure);
          if (!ready) reject(error);
        }
      });
      const died = (what: string) => {
        const error = worker.failed({ name: 'Error', message: what, outOfMemory: false });
        if (!ready) reject(error);
      };
      thread.on('error', (error) => died(`${error.name}: ${error.message}`));
      thread.on('exit', (code) => {
        if (!worker.stopping) died(`its thread exited (code ${code})`);
      });
    });
  }

  private settle(): Pending | undefined {
    const pending = this.pending;
    this.pending = undefined;
    return pending;
  }

  private failed(failure: WorkerFailure): GradientWorkerFailed {
    const what = failure.outOfMemory ? failure.message : `${failure.name}: ${failure.message}`;
    this.lost ??= new GradientWorkerFailed(this.index, what, failure.outOfMemory);
    this.settle()?.reject(this.lost);
    return this.lost;
  }

  /** Runs one part whose images and labels are already in the shared buffers. */
  run(request: Omit<PartRequest, 'type' | 'id'>): Promise<number> {
    if (this.lost) return Promise.reject(this.lost);
    if (this.pending) throw new Error(`gradient worker ${this.index} is already busy`);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.thread.postMessage({ type: 'part', id: this.nextId++, ...request } satisfies PartRequest);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.settle()?.reject(new Error(`gradient worker ${this.index} was stopped`));
    await this.thread.terminate();
  }
}

export class GradientWorkers {
  private readonly weights: Float32Array;
  private readonly control: Int32Array;
  /** Each variable's data id when its values were last published: assign() gives a new one. */
  private readonly published: object[] = [];
  private stopped = false;

  private constructor(
    private readonly options: GradientWorkersOptions,
    private readonly workers: GradientWorker[],
    weights: SharedArrayBuffer,
    control: SharedArrayBuffer,
  ) {
    this.weights = new Float32Array(weights);
    this.control = new Int32Array(control);
  }

  /** Starts `options.count` workers; if one cannot start, the others are stopped and its error thrown. */
  static async start(options: GradientWorkersOptions): Promise<GradientWorkers> {
    const { model, variables } = options;
    const names = new Map([...model.params.entries()].map(([name, variable]) => [variable, name]));
    const parameters = variables.map((variable) => ({ name: names.get(variable)!, shape: variable.shape }));
    const weightCount = variables.reduce((n, variable) => n + variable.size, 0);
    const weights = new SharedArrayBuffer(weightCount * 4);
    const control = new SharedArrayBuffer(4);
    const pixels = options.maxPartImages * options.height * options.width;
    const shared = new GradientWorkers(options, [], weights, control);
    shared.publishWeights();
    const started = await Promise.allSettled(
      Array.from({ length: options.count }, (_, i) =>
        GradientWorker.start({
          worker: i + 1,
          backend: options.backend,
          config: model.config,
          parameters,
          weights,
          control,
          gradients: new SharedArrayBuffer(weightCount * 4),
          images: new SharedArrayBuffer(pixels * 3),
          labels: new SharedArrayBuffer(pixels),
          classWeights: options.classWeights,
          channelOrder: options.channelOrder,
          dropoutRate: options.dropoutRate,
        }),
      ),
    );
    const workers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    shared.workers.push(...workers);
    const failure = started.find((result) => result.status === 'rejected');
    if (failure) {
      await shared.stop();
      throw failure.reason;
    }
    return shared;
  }

  get count(): number {
    return this.workers.length;
  }

  /** Copies the variables whose values changed since the last call into the shared weights. */
  private publishWeights(): void {
    let offset = 0;
    let changed = false;
    this.options.variables.forEach((variable, i) => {
      const dataId = (variable as unknown as { dataId: object }).dataId;
      if (this.published[i] !== dataId) {
        this.weights.set(variable.dataSync() as Float32Array, offset);
        this.published[i] = dataId;
        changed = true;
      }
      offset += variable.size;
    });
    if (changed) Atomics.add(this.control, CONTROL_VERSION, 1);
  }

  /**
   * trainStep's Adam step with the parts spread over the threads: in each round the main thread
   * computes one part and each worker the next ones; the gradients are then added in part order.
   * `onImages` hears of each round's images once they are in.
   */
  async trainStep(
    optimizer: HostAdam,
    batch: SegmentationBatch,
    classWeights: tf.Tensor1D,
    dropoutSeed: number,
    microBatchSize: number,
    onImages?: (images: number) => void,
  ): Promise<number> {
    if (this.stopped) throw new Error('gradient workers were stopped');
    const { model, variables, channelOrder, dropoutRate } = this.options;
    const denominator = batchDenominator(batch, classWeights);
    this.publishWeights();
    const parts = batchParts(batch.size, microBatchSize);
    const threads = this.workers.length + 1;
    let loss = 0;
    for (let first = 0; first < parts.length; first += threads) {
      const offloaded = parts.slice(first + 1, first + threads).map((part, k) => {
        const worker = this.workers[k]!;
        const micro = sliceBatch(batch, part.start, part.end);
        worker.images.set(micro.images);
        worker.labels.set(micro.labels);
        return worker.run({
          size: micro.size,
          height: batch.height,
          width: batch.width,
          denominator,
          dropoutSeed: partDropoutSeed(dropoutSeed, first + 1 + k),
        });
      });
      // Every offloaded part is settled before this step ends or fails: no worker is left writing.
      const results = Promise.allSettled(offloaded);
      let own: ReturnType<typeof partGradients>;
      try {
        const { start, end } = parts[first]!;
        own = partGradients(model, variables, sliceBatch(batch, start, end), {
          classWeights,
          channelOrder,
          dropoutRate,
          denominator,
          dropoutSeed: partDropoutSeed(dropoutSeed, first),
        });
      } catch (error) {
        await results;
        throw error;
      }
      loss += own.loss;
      optimizer.accumulate(own.gradients);
      const settled = await results;
      for (const [k, result] of settled.entries()) {
        if (result.status === 'rejected') throw result.reason;
        loss += result.value;
        optimizer.accumulateConcatenated(this.workers[k]!.gradients);
      }
      const round = parts.slice(first, first + threads);
      onImages?.(round.reduce((images, part) => images + part.end - part.start, 0));
    }
    optimizer.update();
    return loss;
  }

  /** Ends every worker thread. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }
}
