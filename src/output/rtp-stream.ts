// A live H.264 RTP stream fed from the daemon's frames. It never holds the frame loop: a frame is
// drawn only when the rate limit lets one through, into a one-frame slot that a newer frame
// replaces while the encoder is still taking the previous one (latest wins). An encoder that exits,
// fails to start or stops taking frames is restarted with exponential backoff and jitter.

import { errorMessage } from '../system/errors.js';
import type { Logger } from '../system/log.js';
import { rtpEncoderCommand } from './encoder-commands.js';
import { EncoderProcess } from './encoder-process.js';
import type { RtpTarget } from './rtp-uri.js';

export interface RtpStreamOptions {
  target: RtpTarget;
  /** Names the stream in logs (its URI). */
  label: string;
  backend: 'ffmpeg' | 'gstreamer';
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  backoff: { initialMs: number; maxMs: number };
  /** An encoder that has not taken a frame for this long is restarted. */
  stallTimeoutMs: number;
  logger: Logger;
}

export interface RtpStreamStats {
  state: 'running' | 'restarting' | 'stopped';
  framesSent: number;
  /** Frames drawn but replaced by a newer one before the encoder took them. */
  framesReplaced: number;
  restarts: number;
  lastError: string | undefined;
}

export class RtpStream {
  private encoder: EncoderProcess | undefined;
  private readonly buffers: [Uint8Array, Uint8Array];
  private slotIndex = 0;
  private pending = false;
  private writing = false;
  private running = false;
  private lastAcceptedMs = Number.NEGATIVE_INFINITY;
  private attempt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private healthyTimer: NodeJS.Timeout | undefined;
  private readonly counters = { framesSent: 0, framesReplaced: 0, restarts: 0 };
  private lastError: string | undefined;

  constructor(readonly options: RtpStreamOptions) {
    const bytes = options.width * options.height * 3;
    this.buffers = [new Uint8Array(bytes), new Uint8Array(bytes)];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.spawnEncoder();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const timer of [this.restartTimer, this.stallTimer, this.healthyTimer]) clearTimeout(timer);
    this.restartTimer = this.stallTimer = this.healthyTimer = undefined;
    const encoder = this.encoder;
    this.encoder = undefined;
    await encoder?.stop();
  }

  /**
   * True when a frame offered at `nowMs` would be sent: the encoder is up and the rate allows.
   * `nowMs` is monotonic (performance.now()): a wall clock set back would hold the stream.
   */
  due(nowMs: number): boolean {
    if (!this.encoder?.running) return false;
    // A little slack so that frames arriving exactly at the limit are not decimated by jitter.
    return nowMs - this.lastAcceptedMs >= (1000 / this.options.fps) * 0.9;
  }

  /** The buffer to draw the next frame into (width × height × 3 RGB), then call commit(). */
  get slot(): Uint8Array {
    return this.buffers[this.slotIndex]!;
  }

  /** Hands the frame in `slot` to the encoder: now, or as soon as it has taken the previous one. */
  commit(nowMs: number): void {
    this.lastAcceptedMs = nowMs;
    if (this.pending) this.counters.framesReplaced++;
    this.pending = true;
    if (!this.writing) this.writeNext();
  }

  stats(): RtpStreamStats {
    const state = !this.running ? 'stopped' : this.encoder?.running ? 'running' : 'restarting';
    return { state, ...this.counters, lastError: this.lastError };
  }

  /** PID of the encoder subprocess (for tests and health). */
  get pid(): number | undefined {
    return this.encoder?.running ? this.encoder.pid : undefined;
  }

  private writeNext(): void {
    const encoder = this.encoder;
    if (!this.pending || !encoder?.running) return;
    const frame = this.buffers[this.slotIndex]!;
    // The next frame is drawn into the other buffer while the pipe holds this one.
    this.slotIndex = 1 - this.slotIndex;
    this.pending = false;
    this.writing = true;
    this.stallTimer = setTimeout(() => {
      if (this.encoder === encoder) void this.restart(`took no frame for ${this.options.stallTimeoutMs} ms`);
    }, this.options.stallTimeoutMs);
    encoder
      .write(frame)
      .then(
        () => {
          this.counters.framesSent++;
        },
        // The encoder went away; its exit handler restarts it.
        () => {},
      )
      .finally(() => {
        clearTimeout(this.stallTimer);
        this.writing = false;
        if (this.encoder === encoder) this.writeNext();
      });
  }

  private spawnEncoder(): void {
    const { options } = this;
    let encoder: EncoderProcess;
    try {
      encoder = new EncoderProcess(
        rtpEncoderCommand(options.target, options.backend, options, {
          fps: options.fps,
          bitrateKbps: options.bitrateKbps,
        }),
      );
    } catch (error) {
      // Runs from start() and from the restart timer: a throw here would kill the daemon.
      this.scheduleRestart(`the encoder could not be started: ${errorMessage(error)}`);
      return;
    }
    this.encoder = encoder;
    // Only an encoder that stays up resets the backoff (one that dies after a frame does not).
    this.healthyTimer = setTimeout(() => {
      if (this.encoder === encoder && encoder.running) this.attempt = 0;
    }, options.backoff.maxMs);
    void encoder.exited.then((exit) => {
      if (this.encoder === encoder && this.running) this.scheduleRestart(encoder.describeExit(exit));
    });
  }

  private async restart(reason: string): Promise<void> {
    const encoder = this.encoder;
    this.encoder = undefined;
    this.scheduleRestart(reason);
    await encoder?.stop();
  }

  private scheduleRestart(reason: string): void {
    clearTimeout(this.healthyTimer);
    if (!this.running || this.restartTimer) return;
    this.encoder = undefined;
    this.pending = false;
    this.attempt++;
    this.counters.restarts++;
    this.lastError = reason;
    const { initialMs, maxMs } = this.options.backoff;
    const delayMs = Math.round(
      Math.min(maxMs, initialMs * 2 ** (this.attempt - 1)) * (0.75 + Math.random() * 0.5),
    );
    this.options.logger.warn(
      { output: this.options.label, attempt: this.attempt, delayMs, reason },
      'video output restarting',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running) this.spawnEncoder();
    }, delayMs);
  }
}
