// InferenceEngine that runs onnxruntime in a worker thread. onnxruntime-node's run() executes on
// the calling JS thread (its promise only defers the call), so in-process inference blocks decode,
// pre/post-processing, MQTT and timers; in a worker those overlap with inference. Inputs travel
// through SharedArrayBuffers registered once per buffer; outputs come back transferred, not copied.

import { MessageChannel, type Worker } from 'node:worker_threads';
import type { ModelManifest } from '../model/manifest.js';
import { siblingWorker } from '../system/sibling-module.js';
import { EngineBase } from './engine-base.js';
import { FrameStream } from './frame-stream.js';
import type { EngineOptions, FrameStreamHandlers, InferenceEngine, RawOutput } from './types.js';
import { deserializeError, type WorkerData, type WorkerReply } from './worker-protocol.js';

interface Slot {
  id: number;
  /** Shared input the worker reads; the caller's own buffer when it is already shared. */
  shared: Float32Array;
  /** The caller's buffer must be copied into `shared` before each run. */
  copyIn: boolean;
  registered: boolean;
}

interface Pending {
  resolve: (output: RawOutput | number[]) => void;
  reject: (error: Error) => void;
}

function spawnWorker(workerData: WorkerData): Worker {
  return siblingWorker(import.meta.url, 'onnx-worker', { workerData });
}

export class ThreadedOnnxEngine extends EngineBase implements InferenceEngine {
  private worker: Worker | undefined;
  /** The manifest as the worker read it (this thread never loads the model folder). */
  private manifestValue: ModelManifest | undefined;
  private readonly slots = new Map<Float32Array, Slot>();
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 0;
  /** session.run's time on the worker for the last completed run (no thread hand-off). */
  lastRunMs = 0;
  private stopped: (() => void) | undefined;
  private stopping = false;
  private readonly streams = new Set<FrameStream>();
  private lostListeners: Array<(error: Error) => void> = [];

  constructor(modelDir: string, options: EngineOptions) {
    super('ThreadedOnnxEngine', modelDir, options);
  }

  protected override loadedManifest(): ModelManifest | undefined {
    return this.manifestValue;
  }

  /** Spawns the worker, which loads the model and reports 'ready' with its manifest and info. */
  protected load(): Promise<void> {
    const { logger: _logger, ...options } = this.options;
    const worker = spawnWorker({ modelDir: this.modelDir, options });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: WorkerReply) => {
        switch (message.type) {
          case 'ready':
            ready = true;
            this.manifestValue = message.manifest;
            this.engineInfo = { ...message.info, thread: 'worker' };
            for (const reason of message.info.fallbackReasons)
              this.logger.warn({ reason }, 'execution provider unavailable, fell back');
            this.logger.info(
              { provider: message.info.provider },
              `onnxruntime ready on ${message.info.provider} (worker thread)`,
            );
            resolve();
            break;
          case 'error':
            reject(deserializeError(message.error));
            void worker.terminate();
            break;
          case 'done':
            this.lastRunMs = message.runMs;
            this.settle(message.id)?.resolve(message.output);
            break;
          case 'timed':
            this.settle(message.id)?.resolve(message.times);
            break;
          case 'failed':
            this.settle(message.id)?.reject(deserializeError(message.error));
            break;
          case 'stopped':
            this.stopped?.();
            break;
        }
      });
      let lost = false;
      const fail = (error: Error) => {
        if (!ready) reject(error);
        for (const [id, request] of this.pending) {
          this.pending.delete(id);
          request.reject(error);
        }
        // Streams end too: their drains resolve and their owners hear why, instead of offering
        // frames into a port nobody reads.
        for (const stream of this.streams) {
          if (this.stopping) stream.close();
          else stream.fail(error);
        }
        this.streams.clear();
        if (ready && !this.stopping && !lost) {
          lost = true;
          this.logger.error({ err: error.message }, 'the onnxruntime worker thread ended by itself');
          for (const listener of this.lostListeners) listener(error);
        }
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        fail(new Error(`onnxruntime worker exited (code ${code})`));
        this.stopped?.();
      });
    });
  }

  private settle(id: number): Pending | undefined {
    const request = this.pending.get(id);
    this.pending.delete(id);
    return request;
  }

  private inputSize(): number {
    return this.info.inputDims.reduce((a, b) => a * b, 1);
  }

  /** A model-input buffer the worker reads in place (the Segmenter preprocesses into it). */
  createInputBuffer(): Float32Array {
    return new Float32Array(new SharedArrayBuffer(this.inputSize() * 4));
  }

  private slotFor(input: Float32Array): Slot {
    let slot = this.slots.get(input);
    if (slot) return slot;
    const size = this.inputSize();
    if (input.length !== size)
      throw new RangeError(`input has ${input.length} values, the model takes ${size}`);
    const isShared = input.buffer instanceof SharedArrayBuffer;
    slot = {
      id: this.slots.size,
      shared: isShared ? input : new Float32Array(new SharedArrayBuffer(size * 4)),
      copyIn: !isShared,
      registered: false,
    };
    this.slots.set(input, slot);
    return slot;
  }

  async run(input: Float32Array): Promise<RawOutput> {
    const worker = this.worker;
    if (!worker || !this.engineInfo) throw new Error('ThreadedOnnxEngine: run() before start()');
    const slot = this.slotFor(input);
    if (slot.copyIn) slot.shared.set(input);
    const id = this.nextRequest++;
    const result = this.request<RawOutput>(id);
    if (slot.registered) worker.postMessage({ type: 'run', id, slot: slot.id });
    else {
      worker.postMessage({ type: 'run', id, slot: slot.id, input: slot.shared.buffer as SharedArrayBuffer });
      slot.registered = true;
    }
    return result;
  }

  private request<T extends RawOutput | number[]>(id: number): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.pending.set(id, { resolve: resolve as (value: RawOutput | number[]) => void, reject }),
    );
  }

  /** A stream of frames the worker preprocesses and runs itself, newest first (engine/frame-stream). */
  openFrameStream(handlers: FrameStreamHandlers): FrameStream {
    const worker = this.worker;
    if (!worker) throw new Error('ThreadedOnnxEngine: openFrameStream() before start()');
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ type: 'openStream', port: port2 }, [port2]);
    const stream = new FrameStream(port1, handlers, () => this.streams.delete(stream));
    this.streams.add(stream);
    return stream;
  }

  onLost(listener: (error: Error) => void): void {
    this.lostListeners.push(listener);
  }

  /** session.run on the worker's last input, `runs` times in a plain loop there (no hand-offs). */
  timeRuns(runs: number): Promise<number[]> {
    const worker = this.worker;
    if (!worker) throw new Error('ThreadedOnnxEngine: timeRuns() before start()');
    const id = this.nextRequest++;
    const times = this.request<number[]>(id);
    worker.postMessage({ type: 'timeRuns', id, runs });
    return times;
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.stopping = true;
    this.forgetStart();
    this.slots.clear();
    this.lostListeners = [];
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        void worker.terminate().then(() => resolve());
      }, 5000);
      this.stopped = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.postMessage({ type: 'stop' });
    });
    this.stopped = undefined;
    this.worker = undefined;
  }
}
