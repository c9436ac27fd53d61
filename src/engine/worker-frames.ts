// Worker side of a frame stream (engine/frame-stream): the moment a run ends, the worker takes the
// newest frame from the shared mailbox, preprocesses it in place and runs the model again, without
// waiting for the main thread. When the mailbox is empty it says it is idle and waits for a kick;
// main kicks only a worker that said so, so the port never fills with frames.

import { performance } from 'node:perf_hooks';
import type { MessagePort } from 'node:worker_threads';
import type { OnnxEngine } from './onnx-engine.js';
import { Preprocessor } from './preprocess.js';
import type { RawOutput } from './types.js';
import type { PoolViews, StreamFrame, StreamReply, StreamRequest } from './worker-protocol.js';
import { POOL_IDLE, POOL_META_FIELDS, poolViews, serializeError, takeMailbox } from './worker-protocol.js';

/** The output's own ArrayBuffer when the array spans all of it (then it moves without a copy). */
export function transferable(output: RawOutput): RawOutput {
  const exact =
    output.buffer instanceof ArrayBuffer &&
    output.byteOffset === 0 &&
    output.byteLength === output.buffer.byteLength;
  return exact ? output : output.slice();
}

export class WorkerFrames {
  private readonly preprocessor: Preprocessor;
  private pool: PoolViews | undefined;
  private busy = false;
  private readonly drains: number[] = [];

  constructor(
    private readonly port: MessagePort,
    private readonly engine: OnnxEngine,
  ) {
    this.preprocessor = new Preprocessor(engine.manifest.input);
    port.on('message', (message: StreamRequest) => this.receive(message));
  }

  close(): void {
    this.port.close();
  }

  private receive(message: StreamRequest): void {
    switch (message.type) {
      case 'pool':
        this.pool = poolViews(message);
        void this.pump();
        break;
      case 'kick':
        void this.pump();
        break;
      case 'drain':
        if (this.busy) this.drains.push(message.id);
        else this.send({ type: 'drained', id: message.id });
        break;
    }
  }

  private send(reply: StreamReply, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(reply, transfer);
  }

  /** The newest frame's slot, or undefined after saying idle (main then kicks on its next frame). */
  private take(pool: PoolViews): number | undefined {
    const slot = takeMailbox(pool.control);
    if (slot !== undefined) return slot;
    Atomics.store(pool.control, POOL_IDLE, 1);
    // A frame may have come between the look and the word: look again.
    const late = takeMailbox(pool.control);
    if (late === undefined) return undefined;
    // Taken after all; if main saw the word already its kick finds the mailbox empty, which is fine.
    Atomics.store(pool.control, POOL_IDLE, 0);
    return late;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    for (let pool = this.pool; pool; pool = this.pool) {
      const slot = this.take(pool);
      if (slot === undefined) break;
      await this.run(pool, slot);
      for (const id of this.drains.splice(0)) this.send({ type: 'drained', id });
    }
    this.busy = false;
    for (const id of this.drains.splice(0)) this.send({ type: 'drained', id });
  }

  private async run(pool: PoolViews, slot: number): Promise<void> {
    const takenAtMs = Date.now();
    const at = slot * POOL_META_FIELDS;
    const frame: StreamFrame = {
      generation: pool.generation,
      slot,
      seq: pool.meta[at]!,
      captureTimeMs: pool.meta[at + 1]!,
      width: pool.meta[at + 2]!,
      height: pool.meta[at + 3]!,
    };
    try {
      const started = performance.now();
      const input = this.preprocessor.run({
        data: pool.slots[slot]!.subarray(0, frame.width * frame.height * 3),
        width: frame.width,
        height: frame.height,
      });
      const preprocessMs = performance.now() - started;
      const output = transferable(await this.engine.run(input));
      this.send(
        {
          type: 'result',
          ...frame,
          output,
          takenAtMs,
          preprocessMs,
          inferenceMs: this.engine.lastRunMs,
        },
        [output.buffer as ArrayBuffer],
      );
    } catch (error) {
      this.send({ type: 'failed', ...frame, error: serializeError(error) });
    }
  }
}
