// The FrameSource seam: anything that yields RGB frames (cameras, video, image folders, synthetic).

import { EventEmitter } from 'node:events';
import type { Logger } from '../system/log.js';

/** An RGB frame as captured: H×W×3 bytes, row-major. */
export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
  /** Wall-clock time (ms since epoch) the frame was captured. */
  captureTimeMs: number;
}

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
  /** Frames whose header announced another size than width×height (skipped). */
  wrongSizeFrames: number;
  restarts: number;
  lastFrameAtMs: number;
}

/** Whether frames flow: `down` carries the reason and when the next attempt is due. */
export interface SourceState {
  state: 'starting' | 'ok' | 'down';
  reason?: string;
  /** Wall-clock ms of the next attempt while down. */
  retryAtMs?: number;
  /** Wall-clock ms of the last change. */
  sinceMs: number;
  /** What is wrong with the frames the source delivers (wrong size, lost alignment), while it lasts. */
  frameProblem?: string;
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
  /** The source went up or down (see SourceState). */
  state: [SourceState];
}

export abstract class FrameSource extends EventEmitter<FrameSourceEvents> {
  protected readonly counters: FrameSourceStats = {
    framesCaptured: 0,
    framesDropped: 0,
    badFrames: 0,
    wrongSizeFrames: 0,
    restarts: 0,
    lastFrameAtMs: 0,
  };
  private lastEmitMs = 0;
  private sourceState: SourceState = { state: 'starting', sinceMs: Date.now() };

  /** `label` names the source in logs and status: a URI with its credentials removed. */
  constructor(
    readonly label: string,
    protected readonly options: FrameSourceOptions,
  ) {
    super();
  }

  get state(): SourceState {
    return { ...this.sourceState };
  }

  protected setState(state: SourceState['state'], reason?: string, retryAtMs?: number): void {
    if (state === this.sourceState.state && reason === this.sourceState.reason) return;
    const { frameProblem } = this.sourceState;
    this.sourceState = {
      state,
      ...(reason === undefined ? {} : { reason }),
      ...(retryAtMs === undefined ? {} : { retryAtMs }),
      sinceMs: Date.now(),
      ...(frameProblem === undefined ? {} : { frameProblem }),
    };
    this.emit('state', this.state);
  }

  /** The current frame problem, read without copying the state (once per frame). */
  protected get frameProblem(): string | undefined {
    return this.sourceState.frameProblem;
  }

  /** Sets or clears what is wrong with the frames (status and health report it as degraded). */
  protected setFrameProblem(frameProblem: string | undefined): void {
    if (frameProblem === this.sourceState.frameProblem) return;
    const { frameProblem: _previous, ...rest } = this.sourceState;
    this.sourceState = { ...rest, ...(frameProblem === undefined ? {} : { frameProblem }) };
    this.emit('state', this.state);
  }

  /** Exponential backoff with jitter for the `attempt`-th restart (1-based). */
  protected backoffDelayMs(attempt: number): number {
    const base = Math.min(this.options.backoff.maxMs, this.options.backoff.initialMs * 2 ** (attempt - 1));
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  /** Between start() and stop(): a source's timers and restarts check it before they act. */
  protected running = false;

  /** Starts capturing (idempotent): marks the source running, then begin(). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.begin();
  }

  /** Stops capturing (idempotent): marks the source stopped, then end() clears its timers and children. */
  async stop(): Promise<void> {
    this.running = false;
    await this.end();
  }

  /** The source's own start: spawn, scan or schedule the first frame. */
  protected abstract begin(): Promise<void> | void;
  /** The source's own stop: everything begin() and later frames set going, undone. */
  protected abstract end(): Promise<void> | void;

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
    if (this.sourceState.state !== 'ok') this.setState('ok');
    // A little slack so that a source running exactly at the limit is not decimated by jitter.
    if (now - this.lastEmitMs < interval * 0.9) {
      this.counters.framesDropped++;
      return;
    }
    this.lastEmitMs = now;
    this.emit('frame', frame);
  }
}
