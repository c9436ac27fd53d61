// Waits on what a subprocess writes (a log line, a readiness message) instead of polling a clock.

import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** Keeps all text a stream has written and resolves waits as soon as the text matches. */
export class OutputWatcher {
  private collected = '';
  private ended = false;
  private waiters: Array<() => void> = [];

  constructor(stream: Readable, echo?: NodeJS.WritableStream) {
    stream.on('data', (chunk: Buffer) => {
      this.collected += chunk.toString();
      echo?.write(chunk);
      this.notify();
    });
    stream.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  /** Watches a child's stderr. */
  static stderr(child: ChildProcess, echo?: NodeJS.WritableStream): OutputWatcher {
    if (!child.stderr) throw new Error('the child was spawned without a stderr pipe');
    return new OutputWatcher(child.stderr, echo);
  }

  get text(): string {
    return this.collected;
  }

  /** How many times `pattern` occurs in the text so far. */
  count(pattern: RegExp): number {
    return [...this.collected.matchAll(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`))]
      .length;
  }

  /**
   * Resolves with the first match once `pattern` occurs `times` times; rejects when the stream
   * ends first or after `timeoutMs` (a bound for a hung child, not a wait for something to settle).
   */
  waitFor(pattern: RegExp, options: { times?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const times = options.times ?? 1;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.count(pattern) >= times) {
          resolve(this.collected.match(pattern)!);
          return true;
        }
        if (this.ended) {
          reject(new Error(`output ended before ${pattern} (x${times}):\n${this.collected}`));
          return true;
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== onChange);
        reject(new Error(`no ${pattern} (x${times}) within ${timeoutMs} ms:\n${this.collected}`));
      }, timeoutMs);
      const onChange = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((waiter) => waiter !== onChange);
      };
      this.waiters.push(onChange);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
