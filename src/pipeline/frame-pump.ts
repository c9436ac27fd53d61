// The frame loop's driver for engines that run on the calling thread (or answer per run): a pump
// that launches the newest pending frame as soon as the engine is free, then post-processes the
// frame before it while the engine runs. Three reused frame buffers: pending, in the engine, and
// awaiting post-processing.

import type { RgbFrame } from '../capture/types.js';
import type { RawOutput } from '../engine/types.js';
import type { LaunchedFrame, Segmenter } from '../segment/segmenter.js';
import { asError } from '../system/errors.js';
import type { DriverEvents, FrameDriver } from './frame-driver.js';

interface Taken {
  launched: LaunchedFrame<RgbFrame>;
  queueMs: number;
}

const FRAME_BUFFERS = 3;

export class PumpDriver implements FrameDriver {
  private pending: RgbFrame | undefined;
  /** Frame buffers of the current frame size that nothing refers to. */
  private readonly spare: Uint8Array[] = [];
  private slotIndex = 0;
  /** The pump while it runs; drain() awaits this one promise, whoever calls it. */
  private pumping: Promise<void> | undefined;
  private pumpActive = false;

  constructor(
    private readonly segmenter: Segmenter,
    private readonly events: DriverEvents,
  ) {}

  /** Copies the frame (the source reuses its buffers); a frame still pending is dropped. */
  offer(frame: RgbFrame): void {
    const bytes = frame.data.length;
    let buffer: Uint8Array | undefined;
    if (this.pending) {
      this.events.dropped(1);
      buffer = this.pending.data.length === bytes ? this.pending.data : undefined;
    }
    buffer ??= this.spareBuffer(bytes);
    buffer.set(frame.data);
    this.pending = {
      data: buffer,
      width: frame.width,
      height: frame.height,
      captureTimeMs: frame.captureTimeMs,
    };
    this.kick();
  }

  async drain(): Promise<void> {
    if (this.pending) this.events.dropped(1);
    this.release(this.pending);
    this.pending = undefined;
    await this.pumping;
  }

  close(): void {
    this.pending = undefined;
  }

  private spareBuffer(bytes: number): Uint8Array {
    let buffer = this.spare.pop();
    while (buffer && buffer.length !== bytes) buffer = this.spare.pop();
    return buffer ?? new Uint8Array(bytes);
  }

  private release(frame: RgbFrame | undefined): void {
    if (frame && this.spare.length < FRAME_BUFFERS) this.spare.push(frame.data);
  }

  /** Starts the pump unless it runs; a frame offered as it was ending starts it again. */
  private kick(): void {
    // The flag, not the promise: a listener of an event the pump emits before its first await
    // may offer a frame while this.pump() has not returned its promise yet.
    if (this.pumpActive) return;
    this.pumpActive = true;
    this.pumping = this.pump().finally(() => {
      this.pumpActive = false;
      this.pumping = undefined;
      if (this.pending) this.kick();
    });
  }

  /**
   * Runs until no frame is pending: launches the newest frame, then post-processes the previous
   * one while the engine works on it; post-processes at once when no newer frame is waiting.
   */
  private async pump(): Promise<void> {
    let previous: { taken: Taken; output: RawOutput } | undefined;
    for (;;) {
      const current = this.take();
      if (previous) this.finish(previous.taken, previous.output);
      previous = undefined;
      if (!current) {
        // A frame offered while the last result was being emitted is taken, not left behind.
        if (this.pending) continue;
        return;
      }
      try {
        previous = { taken: current, output: await current.launched.output };
      } catch (error) {
        this.fail(error, current.launched.frame);
      }
    }
  }

  /** Preprocesses the pending frame and hands it to the engine, or undefined when none is pending. */
  private take(): Taken | undefined {
    for (;;) {
      const frame = this.pending;
      if (!frame) return undefined;
      this.pending = undefined;
      const queueMs = Date.now() - frame.captureTimeMs;
      try {
        const launched = this.segmenter.launch(this.segmenter.prepare(frame, this.slotIndex));
        this.slotIndex = 1 - this.slotIndex;
        return { launched, queueMs };
      } catch (error) {
        this.fail(error, frame);
      }
    }
  }

  private finish(taken: Taken, output: RawOutput): void {
    const { frame } = taken.launched;
    try {
      this.events.processed(frame, this.segmenter.finish(taken.launched, output), taken.queueMs);
    } catch (error) {
      this.events.failed(asError(error));
    }
    this.release(frame);
  }

  private fail(error: unknown, frame: RgbFrame): void {
    this.release(frame);
    this.events.failed(asError(error));
  }
}
