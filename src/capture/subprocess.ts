// A frame source backed by a GStreamer or ffmpeg subprocess writing RGB frames to a pipe, each behind
// a header with its size (capture/framing.ts). Frames of another size, or bytes that are no frame,
// are refused and reported as a frame problem (degraded) until good frames return. It restarts the
// subprocess with exponential backoff when it exits or stalls, and never leaves a child behind on stop().

import { type ChildProcess, spawn } from 'node:child_process';
import { childEnvironment } from '../system/child-env.js';
import { redactUrlCredentials } from '../system/redact.js';
import { ffconcatTakesOptions } from './ffmpeg-version.js';
import { type AnnouncedFrame, FrameReader } from './framing.js';
import {
  type CaptureCommand,
  type CaptureCredentials,
  captureCommand,
  chooseBackend,
  type SubprocessSpec,
  type ToolCapabilities,
} from './pipelines.js';
import { FrameSource, type FrameSourceOptions } from './types.js';

const KILL_GRACE_MS = 2000;
/** A frame problem clears at the first good frame this long after the last bad one. */
const FRAME_PROBLEM_CLEAR_MS = 1000;
/** A changing frame problem (a growing count of skipped bytes) is logged at most this often. */
const FRAME_PROBLEM_LOG_MS = 10_000;

export class SubprocessFrameSource extends FrameSource {
  private child: ChildProcess | undefined;
  private reader: FrameReader | undefined;
  private tools: ToolCapabilities = { ffconcatOptions: false };
  private starts = 0;
  private commandName = '';
  private lastBadFrameAtMs = 0;
  private lastProblemLogMs = 0;
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
  }

  protected async begin(): Promise<void> {
    const generation = ++this.starts;
    if (this.spec.scheme === 'rtsp' || this.spec.scheme === 'rtsps')
      this.tools = { ffconcatOptions: await ffconcatTakesOptions() };
    // stop() (and maybe another start()) came while ffmpeg was asked for its version.
    if (this.running && generation === this.starts) this.spawnChild();
  }

  protected async end(): Promise<void> {
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
    return captureCommand(this.spec, backend, this.options, this.options.loop, this.credentials, this.tools);
  }

  private spawnChild(): void {
    const { command, args, framing, stdin } = this.command();
    this.commandName = command;
    if (this.reader?.framing !== framing) {
      const { width, height } = this.options;
      this.reader = new FrameReader(framing, width, height, {
        frame: (data) => this.onFrame(data),
        refused: (announced) => this.onWrongSize(announced),
        resynchronised: (skippedBytes) => this.onLostAlignment(skippedBytes),
      });
    }
    const reader = this.reader;
    // Half a frame left by the previous child is no start of this one's.
    reader.reset();
    this.lastStderr = '';
    const child = spawn(command, args, {
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: childEnvironment(),
    });
    this.child = child;
    if (stdin !== undefined) {
      // A child that dies before reading it closes the pipe: its exit is reported, not this.
      child.stdin!.on('error', () => {});
      child.stdin!.end(stdin);
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      // Bytes a killed child still had in the pipe belong to no frame of the next one.
      if (this.child === child) reader.push(chunk);
    });
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

  private onFrame(data: Uint8Array): void {
    this.attempt = 0;
    this.armStallTimer();
    const now = Date.now();
    if (this.frameProblem !== undefined && now - this.lastBadFrameAtMs >= FRAME_PROBLEM_CLEAR_MS) {
      this.options.logger.info({ source: this.label }, 'frames of the right size again');
      this.setFrameProblem(undefined);
    }
    this.deliver({ data, width: this.options.width, height: this.options.height, captureTimeMs: now });
  }

  private expectedSize(): string {
    const { width, height } = this.options;
    return `${width}×${height} RGB (${width * height * 3} bytes)`;
  }

  private onWrongSize(announced: AnnouncedFrame): void {
    this.counters.badFrames++;
    this.counters.wrongSizeFrames++;
    const received =
      announced.width === undefined
        ? `${announced.bytes}-byte frames`
        : `${announced.width}×${announced.height} frames (${announced.bytes} bytes)`;
    this.reportFrameProblem(
      `${this.commandName} for ${this.label} delivers ${received}, expected ${this.expectedSize()}: refused`,
    );
  }

  private onLostAlignment(skippedBytes: number): void {
    this.counters.badFrames++;
    this.reportFrameProblem(
      `${this.commandName} for ${this.label} lost frame alignment: ${skippedBytes} bytes before the next frame header skipped`,
    );
  }

  private reportFrameProblem(problem: string): void {
    const now = Date.now();
    this.lastBadFrameAtMs = now;
    const previous = this.frameProblem;
    if (problem === previous) return;
    if (previous === undefined || now - this.lastProblemLogMs >= FRAME_PROBLEM_LOG_MS) {
      this.lastProblemLogMs = now;
      this.options.logger.warn({ source: this.label, problem }, 'frame source delivers bad frames');
    }
    this.setFrameProblem(problem);
  }

  private armStallTimer(): void {
    clearTimeout(this.stallTimer);
    if (!this.running) return;
    this.stallTimer = setTimeout(() => {
      // Bytes came but no frame header among them (a tool writing raw frames, or noise).
      const skipped = this.reader?.skippedBytes ?? 0;
      if (skipped > 0)
        this.reportFrameProblem(
          `${this.commandName} for ${this.label} lost frame alignment: ${skipped} bytes without a frame header`,
        );
      const what = this.frameProblem === undefined ? 'frame' : 'valid frame';
      void this.killChild().then(() =>
        this.scheduleRestart(`no ${what} for ${this.options.stallTimeoutMs} ms (stalled)`),
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
