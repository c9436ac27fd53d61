// Main-thread side of a frame stream into the worker-thread engine. Each frame is copied once into
// a pooled ArrayBuffer and transferred to the worker, which preprocesses and runs the newest one the
// moment it is free (engine/worker-frames): no main-thread hop sits between two inferences, so a
// busy or descheduled main thread never delays the next one. Results come back with their frame's
// pixels and the raw output, both transferred; the pixel buffers return to the pool.

import type { MessagePort } from 'node:worker_threads';
import type { RawOutput } from './postprocess.js';
import type { RgbFrame } from './types.js';
import { deserializeError, type StreamFrame, type StreamReply } from './worker-protocol.js';

export interface StreamedResult {
  seq: number;
  /** The frame as sent; its pixels are valid until release(frame). */
  frame: RgbFrame;
  output: RawOutput;
  /** Date.now() when the worker took the frame. */
  takenAtMs: number;
  preprocessMs: number;
  inferenceMs: number;
}

export interface FrameStreamHandlers {
  result(result: StreamedResult): void;
  failed(error: Error, frame: RgbFrame): void;
  /** Frames the worker replaced by newer ones before taking them. */
  dropped(count: number): void;
  /** The engine behind the stream ended (its worker died): no more results will come. */
  ended?(error: Error): void;
}

/** Pixel buffers kept for reuse: one being filled, one waiting, one in the engine, one being published. */
const POOL_SIZE = 4;

export class FrameStream {
  private readonly pool: ArrayBuffer[] = [];
  private seq = 0;
  private nextDrain = 0;
  private readonly drains = new Map<number, () => void>();
  private closed = false;

  constructor(
    private readonly port: MessagePort,
    private readonly handlers: FrameStreamHandlers,
    private readonly onClose: () => void = () => {},
  ) {
    port.on('message', (reply: StreamReply) => this.receive(reply));
  }

  /** The engine is gone: closes the stream (drains resolve) and tells the owner once. */
  fail(error: Error): void {
    if (this.closed) return;
    this.close();
    this.handlers.ended?.(error);
  }

  /** Copies the frame (the source reuses its buffers) and sends it to the worker. */
  offer(frame: RgbFrame): void {
    if (this.closed) return;
    const bytes = frame.data.length;
    let pixels = this.pool.pop();
    while (pixels && pixels.byteLength !== bytes) pixels = this.pool.pop();
    pixels ??= new ArrayBuffer(bytes);
    new Uint8Array(pixels).set(frame.data);
    const message: StreamFrame & { type: 'frame' } = {
      type: 'frame',
      seq: ++this.seq,
      captureTimeMs: frame.captureTimeMs,
      width: frame.width,
      height: frame.height,
      pixels,
    };
    this.port.postMessage(message, [pixels]);
  }

  /** Gives a result's pixels back to the pool once nothing refers to them any more. */
  release(frame: RgbFrame): void {
    this.recycle(frame.data.buffer as ArrayBuffer);
  }

  /** Resolves when the worker has finished the frame in flight and dropped the waiting one. */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const id = this.nextDrain++;
    return new Promise<void>((resolve) => {
      this.drains.set(id, resolve);
      this.port.postMessage({ type: 'drain', id });
    });
  }

  /** Closes the port; the worker's side of the stream goes with it. Call after drain(). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    this.onClose();
    for (const resolve of this.drains.values()) resolve();
    this.drains.clear();
  }

  private recycle(buffer: ArrayBuffer): void {
    if (this.pool.length < POOL_SIZE) this.pool.push(buffer);
  }

  private receive(reply: StreamReply): void {
    for (const buffer of reply.dropped) this.recycle(buffer);
    if (reply.type === 'drained') {
      if (reply.dropped.length > 0) this.handlers.dropped(reply.dropped.length);
      this.drains.get(reply.id)?.();
      this.drains.delete(reply.id);
      return;
    }
    if (reply.dropped.length > 0) this.handlers.dropped(reply.dropped.length);
    const frame: RgbFrame = {
      data: new Uint8Array(reply.pixels),
      width: reply.width,
      height: reply.height,
      captureTimeMs: reply.captureTimeMs,
    };
    if (reply.type === 'failed') {
      this.handlers.failed(deserializeError(reply.error), frame);
      this.recycle(reply.pixels);
      return;
    }
    this.handlers.result({
      seq: reply.seq,
      frame,
      output: reply.output,
      takenAtMs: reply.takenAtMs,
      preprocessMs: reply.preprocessMs,
      inferenceMs: reply.inferenceMs,
    });
  }
}
