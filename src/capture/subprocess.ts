// A frame source backed by a GStreamer or ffmpeg subprocess writing raw RGB frames to a pipe.
// It reassembles exact frame-size chunks into two reused buffers, restarts the subprocess with
// exponential backoff when it exits or stalls, and never leaves a child behind on stop().

import { type ChildProcess, spawn } from 'node:child_process';
import { childEnvironment } from '../system/child-env.js';
import { redactUrlCredentials } from '../system/redact.js';
import {
  type CaptureCommand,
  type CaptureCredentials,
  captureCommand,
  chooseBackend,
  type SubprocessSpec,
} from './pipelines.js';
import { FrameSource, type FrameSourceOptions } from './types.js';

const KILL_GRACE_MS = 2000;

export class SubprocessFrameSource extends FrameSource {
  private child: ChildProcess | undefined;
  private readonly buffers: [Uint8Array, Uint8Array];
  private current = 0;
  private filled = 0;
  private running = false;
  private attempt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastStderr = '';

  constructor(
    label: string,
    private readonly spec: SubprocessSpec,
    options: FrameSourceOptions,
    private readonly credentials: CaptureCredentials = {},
  ) {
    super(label, options);
    const frameBytes = options.width * options.height * 3;
    this.buffers = [new Uint8Array(frameBytes), new Uint8Array(frameBytes)];
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.spawnChild();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.restartTimer);
    clearTimeout(this.stallTimer);
    this.restartTimer = undefined;
    this.stallTimer = undefined;
    await this.killChild();
  }

  /** PID of the capture subprocess (for health reports and tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The capture command for this source (a subclass may run another frame writer). */
  protected command(): CaptureCommand {
    const backend = chooseBackend(this.spec, this.options.backend);
    return captureCommand(this.spec, backend, this.options, this.options.loop, this.credentials);
  }

  private spawnChild(): void {
    const { command, args } = this.command();
    this.filled = 0;
    this.lastStderr = '';
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnvironment() });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      // Tools print their input URL in errors: never keep a camera password in a log line.
      this.lastStderr = redactUrlCredentials((this.lastStderr + chunk.toString()).slice(-500));
    });
    child.on('error', (error) => this.scheduleRestart(`${command} failed to start: ${error.message}`));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const detail = this.lastStderr.trim().split('\n').pop() ?? '';
      this.scheduleRestart(`${command} exited (${signal ?? `code ${code}`})${detail ? `: ${detail}` : ''}`);
    });
    this.armStallTimer();
  }

  private onData(chunk: Buffer): void {
    let offset = 0;
    const frameBytes = this.buffers[0].length;
    while (offset < chunk.length) {
      const target = this.buffers[this.current]!;
      const take = Math.min(frameBytes - this.filled, chunk.length - offset);
      target.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === frameBytes) {
        this.filled = 0;
        this.attempt = 0;
        this.armStallTimer();
        this.deliver({
          data: target,
          width: this.options.width,
          height: this.options.height,
          captureTimeMs: Date.now(),
        });
        this.current = 1 - this.current;
      }
    }
  }

  private armStallTimer(): void {
    clearTimeout(this.stallTimer);
    if (!this.running) return;
    this.stallTimer = setTimeout(() => {
      void this.killChild().then(() =>
        this.scheduleRestart(`no frame for ${this.options.stallTimeoutMs} ms (stalled)`),
      );
    }, this.options.stallTimeoutMs);
  }

  private scheduleRestart(reason: string): void {
    clearTimeout(this.stallTimer);
    if (!this.running || this.restartTimer) return;
    this.attempt++;
    this.counters.restarts++;
    const delayMs = this.backoffDelayMs(this.attempt);
    this.setState('down', reason, Date.now() + delayMs);
    this.options.logger.warn(
      { source: this.label, attempt: this.attempt, delayMs, reason },
      'frame source restarting',
    );
    this.emit('restart', { attempt: this.attempt, reason, delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.running) this.spawnChild();
    }, delayMs);
  }

  private async killChild(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.child = undefined;
      return;
    }
    this.child = undefined;
    await new Promise<void>((resolve) => {
      const forceKill = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(forceKill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
