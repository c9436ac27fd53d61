// The daemon's frame loop, latest frame wins: the capture side drops each frame into a single
// "pending" slot (a newer frame replaces one not yet taken: stale frames are dropped and counted, so
// memory never grows with load); the moment the engine is free, the loop preprocesses the newest
// frame and launches it, then post-processes and emits the frame before it while the engine runs.
// With a worker-thread engine (engine/threaded-engine) capture, decode, publishing and MQTT run
// during the inference, so the frame taken is at most one camera interval old.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RawOutput } from '../engine/postprocess.js';
import type { LaunchedFrame, SegmentationResult, Segmenter } from '../engine/segmenter.js';
import type { RgbFrame } from '../engine/types.js';

export interface ProcessedFrame {
  seq: number;
  frame: RgbFrame;
  result: SegmentationResult;
  /** Capture → preprocessing start: how long the frame waited for the engine. */
  queueMs: number;
  /** performance.now() when the result was ready: publishing starts from here. */
  resultAt: number;
}

export interface FrameLoopStats {
  framesIn: number;
  framesOut: number;
  framesDropped: number;
  frameErrors: number;
  /** Frames processed per second over the last window. */
  fps: number;
  inferenceMsP50: number;
  inferenceMsP99: number;
  lastFrameOutAtMs: number;
}

interface LoopEvents {
  /** A frame was preprocessed and handed to the engine (the pending slot is empty now). */
  taken: [RgbFrame];
  processed: [ProcessedFrame];
  frameError: [Error];
}

interface Taken {
  launched: LaunchedFrame<RgbFrame>;
  queueMs: number;
  segmenter: Segmenter;
}

const TIMING_WINDOW = 256;
/** Frame buffers in use at most: pending, in the engine, and awaiting post-processing. */
const FRAME_BUFFERS = 3;

export class FrameLoop extends EventEmitter<LoopEvents> {
  private pending: RgbFrame | undefined;
  /** Frame buffers of the current frame size that nothing refers to. */
  private readonly spare: Uint8Array[] = [];
  private slotIndex = 0;
  private paused = false;
  private running = false;
  private seq = 0;
  /** The pump while it runs; everyone who waits for the loop to drain awaits this one promise. */
  private pumping: Promise<void> | undefined;
  private pumpActive = false;
  /** Segmenter swaps waiting for the gap between two frames, applied in order. */
  private readonly swaps: Array<{ segmenter: Segmenter; resolve: (old: Segmenter) => void }> = [];
  private readonly counters = {
    framesIn: 0,
    framesOut: 0,
    framesDropped: 0,
    frameErrors: 0,
    lastFrameOutAtMs: 0,
  };
  private readonly inferenceMs = new Float64Array(TIMING_WINDOW);
  private readonly outTimes = new Float64Array(TIMING_WINDOW);
  private timingCount = 0;

  constructor(private segmenter: Segmenter) {
    super();
  }

  start(): void {
    this.running = true;
  }

  /** Stops taking frames and waits for the ones in flight (drain). Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    this.release(this.pending);
    this.pending = undefined;
    await this.pumping;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) {
      this.release(this.pending);
      this.pending = undefined;
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Swaps in a new segmenter (e.g. after a model switch) between two frames, even while frames keep
   * coming; resolves with the old one once no frame uses it any more.
   */
  replaceSegmenter(segmenter: Segmenter): Promise<Segmenter> {
    const swapped = new Promise<Segmenter>((resolve) => this.swaps.push({ segmenter, resolve }));
    if (!this.pumpActive) this.serveSwaps();
    return swapped;
  }

  /** Called by the frame source; copies the frame (the source reuses its buffers). */
  offer(frame: RgbFrame): void {
    if (!this.running || this.paused) return;
    this.counters.framesIn++;
    const bytes = frame.data.length;
    let buffer: Uint8Array | undefined;
    if (this.pending) {
      this.counters.framesDropped++;
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

  stats(): FrameLoopStats {
    const n = Math.min(this.timingCount, TIMING_WINDOW);
    const sorted = Array.from(this.inferenceMs.subarray(0, n)).sort((a, b) => a - b);
    const quantile = (q: number) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(q * n))]!);
    const outs = Array.from(this.outTimes.subarray(0, n)).sort((a, b) => a - b);
    const spanMs = n > 1 ? outs[n - 1]! - outs[0]! : 0;
    return {
      ...this.counters,
      fps: spanMs > 0 ? ((n - 1) * 1000) / spanMs : 0,
      inferenceMsP50: quantile(0.5),
      inferenceMsP99: quantile(0.99),
    };
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
    // (taken) may offer a frame while this.pump() has not returned its promise yet.
    if (this.pumpActive) return;
    this.pumpActive = true;
    this.pumping = this.pump().finally(() => {
      this.pumpActive = false;
      this.pumping = undefined;
      this.serveSwaps();
      if (this.running && !this.paused && this.pending) this.kick();
    });
  }

  /** Each waiting swap resolves with the segmenter it replaced (the one before it, for a second swap). */
  private serveSwaps(): void {
    for (const swap of this.swaps.splice(0)) {
      const old = this.segmenter;
      this.segmenter = swap.segmenter;
      swap.resolve(old);
    }
  }

  /**
   * Runs until no frame is pending: launches the newest frame, then post-processes the previous
   * one while the engine works on it; post-processes at once when no newer frame is waiting.
   */
  private async pump(): Promise<void> {
    let previous: { taken: Taken; output: RawOutput } | undefined;
    for (;;) {
      // A model switch happens between two frames: the old model's last frame is finished first.
      if (this.swaps.length > 0) {
        if (previous) this.finish(previous.taken, previous.output);
        previous = undefined;
        this.serveSwaps();
      }
      const current = this.running && !this.paused ? this.take() : undefined;
      if (previous) this.finish(previous.taken, previous.output);
      previous = undefined;
      if (!current) {
        // A frame offered while the last result was being emitted is taken, not left behind.
        if (this.running && !this.paused && this.pending) continue;
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
      const segmenter = this.segmenter;
      try {
        const launched = segmenter.launch(segmenter.prepare(frame, this.slotIndex));
        this.slotIndex = 1 - this.slotIndex;
        this.emit('taken', frame);
        return { launched, queueMs, segmenter };
      } catch (error) {
        this.fail(error, frame);
      }
    }
  }

  private finish(taken: Taken, output: RawOutput): void {
    const { frame } = taken.launched;
    try {
      const result = taken.segmenter.finish(taken.launched, output);
      const now = Date.now();
      const seq = ++this.seq;
      this.counters.framesOut++;
      this.counters.lastFrameOutAtMs = now;
      const slot = this.timingCount++ % TIMING_WINDOW;
      this.inferenceMs[slot] = result.timings.inferenceMs;
      this.outTimes[slot] = now;
      this.emit('processed', { seq, frame, result, queueMs: taken.queueMs, resultAt: performance.now() });
      this.release(frame);
    } catch (error) {
      this.fail(error, frame);
    }
  }

  private fail(error: unknown, frame: RgbFrame): void {
    this.counters.frameErrors++;
    this.release(frame);
    this.emit('frameError', error instanceof Error ? error : new Error(String(error)));
  }
}
