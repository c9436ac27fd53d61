// The one place SIGTERM/SIGINT are handled. The daemon: the first runs the shutdown handler (drain,
// publish `stopped`, exit 0); a second one forces the exit. A command (infer): the first asks it to
// stop and clean up, after which it exits 128 + the signal's number, as a CLI should; a second exits
// at once with that code.

import { constants } from 'node:os';
import { errorMessage } from './errors.js';

/** The exit status of a command stopped by `signal`: 130 for SIGINT, 143 for SIGTERM. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * `deadlineMs`: a shutdown that has not finished by then exits anyway (status 1), so a stop stuck
 * in native code (a session still being created, a TensorRT engine being built) ends before the
 * service manager's own stop timeout kills the process without a word.
 */
export function onShutdown(
  handler: (signal: NodeJS.Signals) => Promise<void>,
  log: (message: string) => void = () => {},
  deadlineMs?: number,
): () => void {
  let shuttingDown = false;
  const listener = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    shuttingDown = true;
    if (deadlineMs !== undefined)
      setTimeout(() => {
        log(`shutdown still not done after ${deadlineMs / 1000} s: exiting now`);
        process.exit(1);
      }, deadlineMs).unref();
    handler(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${errorMessage(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', listener);
  process.on('SIGINT', listener);
  return () => {
    process.off('SIGTERM', listener);
    process.off('SIGINT', listener);
  };
}

/**
 * Calls `interrupt` on the first SIGINT (Ctrl-C) or SIGTERM, for a command to stop its work and
 * clean up; it exits with signalExitCode() once it has. Returns the function that stops listening.
 */
export function onInterrupt(
  interrupt: (signal: NodeJS.Signals) => void,
  log: (message: string) => void = () => {},
): () => void {
  let interrupted = false;
  const listener = (signal: NodeJS.Signals) => {
    if (interrupted) {
      log(`${signal} again: exiting now`);
      process.exit(signalExitCode(signal));
    }
    interrupted = true;
    interrupt(signal);
  };
  process.on('SIGTERM', listener);
  process.on('SIGINT', listener);
  return () => {
    process.off('SIGTERM', listener);
    process.off('SIGINT', listener);
  };
}
