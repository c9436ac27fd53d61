// The daemon's frame loop: the capture side drops each frame into a single "latest" slot (a newer
// frame replaces one not yet taken: stale frames are dropped and counted, so memory never grows
// with load); the inference side takes the latest frame whenever it is free.

import { EventEmitter } from 'node:events';
import type { SegmentationResult, Segmenter } from '../engine/segmenter.js';
import type { RgbFrame } from '../engine/types.js';

export interface ProcessedFrame {
  seq: number;
  frame: RgbFrame;
  result: SegmentationResult;
  /** Capture → result, and time spent waiting in the slot. */
  queueMs: number;
  totalMs: number;
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
  processed: [ProcessedFrame];
  frameError: [Error];
}

const TIMING_WINDOW = 256;

export class FrameLoop extends EventEmitter<LoopEvents> {
  private pending: RgbFrame | undefined;
  private readonly slotBuffers: Uint8Array[] = [];
  private slotIndex = 0;
  private busy = false;
  private paused = false;
  private running = false;
  private seq = 0;
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
  private idle: (() => void) | undefined;

  constructor(private segmenter: Segmenter) {
    super();
  }

  start(): void {
    this.running = true;
  }

  /** Stops taking frames and waits for the one in flight (drain). Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    this.pending = undefined;
    if (this.busy) await new Promise<void>((resolve) => (this.idle = resolve));
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) this.pending = undefined;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Swaps in a new segmenter (e.g. after a model switch) between two frames. */
  async replaceSegmenter(segmenter: Segmenter): Promise<Segmenter> {
    while (this.busy) await new Promise<void>((resolve) => (this.idle = resolve));
    const old = this.segmenter;
    this.segmenter = segmenter;
    return old;
  }

  /** Called by the frame source; copies the frame (the source reuses its buffers). */
  offer(frame: RgbFrame): void {
    if (!this.running || this.paused) return;
    this.counters.framesIn++;
    if (this.pending) this.counters.framesDropped++;
    const bytes = frame.data.length;
    // Two slot buffers: one may be in inference while the other takes the next frame.
    let buffer = this.slotBuffers[this.slotIndex];
    if (!buffer || buffer.length !== bytes) {
      buffer = new Uint8Array(bytes);
      this.slotBuffers[this.slotIndex] = buffer;
    }
    buffer.set(frame.data);
    this.pending = {
      data: buffer,
      width: frame.width,
      height: frame.height,
      captureTimeMs: frame.captureTimeMs,
    };
    if (!this.busy) void this.processNext();
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

  private async processNext(): Promise<void> {
    while (this.running && !this.paused && this.pending) {
      const frame = this.pending;
      this.pending = undefined;
      this.slotIndex = 1 - this.slotIndex;
      this.busy = true;
      const started = Date.now();
      try {
        const result = await this.segmenter.segment(frame);
        const now = Date.now();
        const seq = ++this.seq;
        this.counters.framesOut++;
        this.counters.lastFrameOutAtMs = now;
        const slot = this.timingCount++ % TIMING_WINDOW;
        this.inferenceMs[slot] = result.timings.inferenceMs;
        this.outTimes[slot] = now;
        this.emit('processed', {
          seq,
          frame,
          result,
          queueMs: started - frame.captureTimeMs,
          totalMs: now - frame.captureTimeMs,
        });
      } catch (error) {
        this.counters.frameErrors++;
        this.emit('frameError', error instanceof Error ? error : new Error(String(error)));
      } finally {
        this.busy = false;
        const idle = this.idle;
        this.idle = undefined;
        idle?.();
      }
    }
  }
}
