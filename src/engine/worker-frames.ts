// Worker side of a frame stream (engine/frame-stream): the worker keeps the newest frame it was
// sent, and the moment a run ends it takes that frame, preprocesses it and runs the model again,
// without waiting for the main thread. Frames that came in during a run are read straight off the
// port (receiveMessageOnPort): only the newest is kept, the others go back as dropped.

import { performance } from 'node:perf_hooks';
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import type { OnnxEngine } from './onnx-engine.js';
import { Preprocessor } from './preprocess.js';
import {
  type RawOutput,
  type StreamFrame,
  type StreamReply,
  type StreamRequest,
  serializeError,
} from './worker-protocol.js';

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
  private waiting: StreamFrame | undefined;
  private busy = false;
  private dropped: ArrayBuffer[] = [];
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
    if (this.waiting) this.dropped.push(this.waiting.pixels);
    this.waiting = undefined;
    if (message.type === 'frame') {
      const { type: _type, ...frame } = message;
      this.waiting = frame;
      if (!this.busy) void this.pump();
    } else if (this.busy) this.drains.push(message.id);
    else this.send({ type: 'drained', id: message.id, dropped: this.takeDropped() });
  }

  private takeDropped(): ArrayBuffer[] {
    const dropped = this.dropped;
    this.dropped = [];
    return dropped;
  }

  private send(reply: StreamReply, transfer: ArrayBuffer[] = []): void {
    this.port.postMessage(reply, [...transfer, ...('dropped' in reply ? reply.dropped : [])]);
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.waiting) {
      const frame = this.waiting;
      this.waiting = undefined;
      const takenAtMs = Date.now();
      try {
        const started = performance.now();
        const input = this.preprocessor.run({
          data: new Uint8Array(frame.pixels),
          width: frame.width,
          height: frame.height,
        });
        const preprocessMs = performance.now() - started;
        const output = transferable(await this.engine.run(input));
        // Frames sent during the run: keep the newest for the next turn of this loop.
        for (let queued = receiveMessageOnPort(this.port); queued; queued = receiveMessageOnPort(this.port))
          this.receive(queued.message as StreamRequest);
        this.send(
          {
            type: 'result',
            ...frame,
            output,
            takenAtMs,
            preprocessMs,
            inferenceMs: this.engine.lastRunMs,
            dropped: this.takeDropped(),
          },
          [frame.pixels, output.buffer as ArrayBuffer],
        );
      } catch (error) {
        this.send({ type: 'failed', ...frame, error: serializeError(error), dropped: this.takeDropped() }, [
          frame.pixels,
        ]);
      }
    }
    this.busy = false;
    for (const id of this.drains.splice(0)) this.send({ type: 'drained', id, dropped: this.takeDropped() });
  }
}
