// One encoder subprocess fed raw frames on stdin: each write resolves once the pipe has taken the
// frame (so a caller that awaits it never holds more than one frame), the tail of stderr is kept to
// name a failure, and stop() never leaves the child behind.

import { type ChildProcess, spawn } from 'node:child_process';
import type { EncoderCommand } from './encoder-commands.js';

export interface EncoderExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The spawn error (e.g. ENOENT: the tool is not installed), if it never ran. */
  spawnError?: Error;
}

const KILL_GRACE_MS = 2000;

export class EncoderProcess {
  private readonly child: ChildProcess;
  private stderrTail = '';
  private exitInfo: EncoderExit | undefined;
  /** Resolves when the child has exited (or failed to start). */
  readonly exited: Promise<EncoderExit>;

  constructor(readonly command: EncoderCommand) {
    this.child = spawn(command.command, command.args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000);
    });
    // EPIPE when the encoder dies mid-write: reported through write()'s callback and `exited`.
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.exitInfo ??= { code: null, signal: null, spawnError: error };
        resolve(this.exitInfo);
      });
      this.child.once('close', (code, signal) => {
        this.exitInfo ??= { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
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
    const stdin = this.child.stdin!;
    if (!this.running || stdin.destroyed || stdin.writableEnded)
      return Promise.reject(new Error(`${this.command.command} is not running`));
    return new Promise((resolve, reject) => {
      stdin.write(frame, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Closes stdin (end of stream) and waits for the encoder to finish. */
  async end(): Promise<EncoderExit> {
    if (this.running) this.child.stdin!.end();
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after a grace period; resolves when it is gone. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.stdin!.destroy();
    const forceKill = setTimeout(() => this.child.kill('SIGKILL'), KILL_GRACE_MS);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(forceKill);
  }
}
