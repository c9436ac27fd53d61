// One encoder subprocess fed raw frames on stdin: each write resolves once the pipe has taken the
// frame (so a caller that awaits it never holds more than one frame), the tail of stderr is kept to
// name a failure, and stop() never leaves the child behind.

import { type ChildProcess, spawn } from 'node:child_process';
import { childEnvironment } from '../system/child-env.js';
import { asError } from '../system/errors.js';
import type { EncoderCommand } from './encoder-commands.js';

export interface EncoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn error (e.g. ENOENT: the tool is not installed), if it never ran. */
  spawnError?: Error;
}

const KILL_GRACE_MS = 2000;

export class EncoderProcess {
  /** Undefined when spawn() itself threw (ENOMEM, E2BIG, ...). */
  private readonly child: ChildProcess | undefined;
  private stderrTail = '';
  private exitInfo: EncoderExit | undefined;
  /** The child can never be fed (no process or no pipes); `exited` says why. */
  private readonly unusable: boolean;
  /** Resolves when the child has exited (or failed to start). */
  readonly exited: Promise<EncoderExit>;

  constructor(readonly command: EncoderCommand) {
    let child: ChildProcess | undefined;
    let thrown: Error | undefined;
    try {
      child = spawn(command.command, command.args, {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: childEnvironment(),
      });
    } catch (error) {
      thrown = asError(error);
    }
    this.child = child;
    const stdin = child?.stdin ?? undefined;
    const stderr = child?.stderr ?? undefined;
    this.unusable = !child || !stdin || !stderr;
    this.exited = new Promise((resolve) => {
      const settle = (exit: EncoderExit) => {
        this.exitInfo ??= exit;
        resolve(this.exitInfo);
      };
      if (!child) {
        settle({ code: null, signal: null, spawnError: thrown });
        return;
      }
      // Before anything else: an 'error' event without a listener would kill the daemon. Kept for
      // the child's life (a failed kill() reports through it too).
      child.on('error', (error) => settle({ code: null, signal: null, spawnError: error }));
      child.once('close', (code, signal) => settle({ code, signal }));
      if (this.unusable) {
        // Out of file descriptors (EMFILE, ENFILE) Node hands back a child without pipes and emits
        // 'error' naming the cause on the next tick; this is the fallback should it not.
        if (child.pid !== undefined) child.kill('SIGKILL');
        setImmediate(() =>
          settle({
            code: null,
            signal: null,
            spawnError: new Error('no pipes to the encoder could be opened'),
          }),
        );
      }
    });
    if (!stdin || !stderr) return;
    stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000);
    });
    // EPIPE when the encoder dies mid-write: reported through write()'s callback and `exited`.
    stdin.on('error', () => {});
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined && !this.unusable;
  }

  /** The last lines the encoder wrote to stderr (its own words for what went wrong). */
  get stderr(): string {
    return this.stderrTail.trim();
  }

  /** Why it ended, in one line: "ffmpeg exited with code 1: <last stderr line>". */
  describeExit(exit: EncoderExit): string {
    const name = this.command.command;
    if (exit.spawnError) return `${name} could not start: ${exit.spawnError.message}`;
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const last = this.stderr.split('\n').pop();
    return `${name} ${how}${last ? `: ${last}` : ''}`;
  }

  /**
   * Writes one frame. Resolves when the pipe has taken it (the buffer may then be reused),
   * rejects when the encoder has gone.
   */
  write(frame: Uint8Array): Promise<void> {
    const stdin = this.child?.stdin;
    if (!this.running || !stdin || stdin.destroyed || stdin.writableEnded)
      return Promise.reject(new Error(`${this.command.command} is not running`));
    return new Promise((resolve, reject) => {
      stdin.write(frame, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Closes stdin (end of stream) and waits for the encoder to finish. */
  async end(): Promise<EncoderExit> {
    if (this.running) this.child?.stdin?.end();
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when it is gone. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!this.running || !child) {
      await this.exited;
      return;
    }
    child.stdin?.destroy();
    const forceKill = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    child.kill('SIGTERM');
    await this.exited;
    clearTimeout(forceKill);
  }
}
