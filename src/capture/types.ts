// The FrameSource seam: anything that yields RGB frames (cameras, video, image folders, synthetic).

import { EventEmitter } from 'node:events';
import type { RgbFrame } from '../engine/types.js';
import type { Logger } from '../system/log.js';

export interface FrameSourceOptions {
  /** Output frame size (sources resize or ask their pipeline for it). */
  width: number;
  height: number;
  /** Frame-rate limit; frames above it are dropped and counted. */
  fps: number;
  loop: boolean;
  stallTimeoutMs: number;
  backoff: { initialMs: number; maxMs: number };
  backend: 'auto' | 'ffmpeg' | 'gstreamer';
  logger: Logger;
}

export interface FrameSourceStats {
  framesCaptured: number;
  framesDropped: number;
  badFrames: number;
  restarts: number;
  lastFrameAtMs: number;
}

/** A source is running while frames keep arriving: the last one came within the stall timeout. */
export function sourceRunning(
  stats: FrameSourceStats | undefined,
  stallTimeoutMs: number,
  nowMs: number,
): boolean {
  return stats !== undefined && stats.lastFrameAtMs > 0 && nowMs - stats.lastFrameAtMs < stallTimeoutMs;
}

export interface RestartEvent {
  attempt: number;
  reason: string;
  delayMs: number;
}

export interface FrameSourceEvents {
  /** The frame's buffer may be reused for a later frame: copy what you keep. */
  frame: [RgbFrame];
  restart: [RestartEvent];
  error: [Error];
}

export abstract class FrameSource extends EventEmitter<FrameSourceEvents> {
  protected readonly counters: FrameSourceStats = {
    framesCaptured: 0,
    framesDropped: 0,
    badFrames: 0,
    restarts: 0,
    lastFrameAtMs: 0,
  };
  private lastEmitMs = 0;

  constructor(
    readonly uri: string,
    protected readonly options: FrameSourceOptions,
  ) {
    super();
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;

  /** Changes the frame-rate limit live (config/set fps). */
  setFpsLimit(fps: number): void {
    this.options.fps = fps;
  }

  stats(): FrameSourceStats {
    return { ...this.counters };
  }

  /** Emits a frame unless it comes faster than the fps limit (then it is counted as dropped). */
  protected deliver(frame: RgbFrame): void {
    const now = frame.captureTimeMs;
    const interval = 1000 / this.options.fps;
    this.counters.framesCaptured++;
    this.counters.lastFrameAtMs = now;
    // A little slack so that a source running exactly at the limit is not decimated by jitter.
    if (now - this.lastEmitMs < interval * 0.9) {
      this.counters.framesDropped++;
      return;
    }
    this.lastEmitMs = now;
    this.emit('frame', frame);
  }
}
