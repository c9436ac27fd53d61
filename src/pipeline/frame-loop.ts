// The daemon's frame loop, latest frame wins: a newer frame replaces one not yet taken (stale frames
// are dropped and counted, so memory never grows with load), and the moment the engine is free it
// takes the newest frame. With the worker-thread engine the frames stream into the engine's own
// thread, which takes the next one without waiting for this one (frame-stream-driver); capture,
// publishing and MQTT run here meanwhile, and post-processing overlaps the next inference. Other
// engines are driven by an in-process pump (frame-pump). Model swaps land between two frames.

import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { RgbFrame } from '../capture/types.js';
import type { SegmentationResult, Segmenter } from '../segment/segmenter.js';
import type { DriverEvents, FrameDriver } from './frame-driver.js';
import { PumpDriver } from './frame-pump.js';
import { StreamDriver } from './frame-stream-driver.js';

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
  /** Milliseconds since the last result on the monotonic clock (a wall-clock step does not move it); Infinity before the first. */
  msSinceFrameOut: number;
}

interface LoopEvents {
  processed: [ProcessedFrame];
  frameError: [Error];
}

const TIMING_WINDOW = 256;

export class FrameLoop extends EventEmitter<LoopEvents> {
  private driver: FrameDriver;
  private paused = false;
  private running = false;
  private seq = 0;
  /** Swaps run one after the other; frames offered meanwhile wait here (newest wins). */
  private swapping: Promise<unknown> = Promise.resolve();
  private swapsWaiting = 0;
  private held: RgbFrame | undefined;
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
  private lastFrameOutMono = Number.NEGATIVE_INFINITY;

  constructor(private segmenter: Segmenter) {
    super();
    this.driver = this.driverFor(segmenter);
  }

  start(): void {
    this.running = true;
  }

  /** Stops taking frames and waits for the one in flight (drain). Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    this.held = undefined;
    await this.driver.drain();
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (paused) {
      this.held = undefined;
      void this.driver.drain();
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
    this.swapsWaiting++;
    const swapped = this.swapping.then(async () => {
      try {
        await this.driver.drain();
        // Opened before the old one closes: if the new engine cannot stream, nothing has changed.
        const driver = this.driverFor(segmenter);
        this.driver.close();
        this.driver = driver;
        const old = this.segmenter;
        this.segmenter = segmenter;
        return old;
      } finally {
        // Counted down whether the swap worked or not, so frames never wait for a swap that is over.
        // A frame that came meanwhile goes to the model now running, unless another swap follows.
        if (--this.swapsWaiting === 0 && this.held) {
          const held = this.held;
          this.held = undefined;
          if (this.running && !this.paused) this.driver.offer(held);
        }
      }
    });
    this.swapping = swapped.catch(() => {});
    return swapped;
  }

  /** Called by the frame source; the frame is copied (the source reuses its buffers). */
  offer(frame: RgbFrame): void {
    if (!this.running || this.paused) return;
    this.counters.framesIn++;
    if (this.swapsWaiting === 0) {
      this.driver.offer(frame);
      return;
    }
    if (this.held) this.counters.framesDropped++;
    const data =
      this.held?.data.length === frame.data.length ? this.held.data : new Uint8Array(frame.data.length);
    data.set(frame.data);
    this.held = { ...frame, data };
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
      msSinceFrameOut: performance.now() - this.lastFrameOutMono,
      inferenceMsP50: quantile(0.5),
      inferenceMsP99: quantile(0.99),
    };
  }

  private driverFor(segmenter: Segmenter): FrameDriver {
    const events: DriverEvents = {
      processed: (frame, result, queueMs) => this.processed(frame, result, queueMs),
      failed: (error) => {
        this.counters.frameErrors++;
        this.emit('frameError', error);
      },
      dropped: (count) => {
        this.counters.framesDropped += count;
      },
    };
    return segmenter.engine.openFrameStream
      ? new StreamDriver(segmenter, events)
      : new PumpDriver(segmenter, events);
  }

  private processed(frame: RgbFrame, result: SegmentationResult, queueMs: number): void {
    const now = Date.now();
    const seq = ++this.seq;
    this.counters.framesOut++;
    this.counters.lastFrameOutAtMs = now;
    this.lastFrameOutMono = performance.now();
    const slot = this.timingCount++ % TIMING_WINDOW;
    this.inferenceMs[slot] = result.timings.inferenceMs;
    this.outTimes[slot] = performance.now();
    this.emit('processed', { seq, frame, result, queueMs, resultAt: performance.now() });
  }
}
