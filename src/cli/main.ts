// Runs the commander program and turns errors into exit codes: user errors and the operating
// system's refusals (read-only, full disk, closed stdout) print one clear line (no stack); anything
// else is a bug and prints the stack.

import type { Command } from 'commander';
import { InterruptedError, isUserError } from '../system/errors.js';
import { describeSystemError } from '../system/os-errors.js';
import { signalExitCode } from '../system/signals.js';

/** Exit status when the reader of stdout went away (`edgeseg eval --json | head -1`), as SIGPIPE would. */
export const BROKEN_PIPE_EXIT = 141;

export async function runMain(program: Command): Promise<void> {
  watchStandardOutput();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    process.exitCode = reportError(error);
  }
}

/** Prints an error for a person and returns the exit code to use. */
export function reportError(error: unknown): number {
  if (error instanceof InterruptedError) {
    process.stderr.write(`edgeseg: ${error.message}\n`);
    return signalExitCode(error.signal);
  }
  if (isUserError(error)) {
    process.stderr.write(`edgeseg: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    return 1;
  }
  const systemProblem = describeSystemError(error);
  if (systemProblem) {
    process.stderr.write(`edgeseg: ${systemProblem}\n`);
    return 1;
  }
  process.stderr.write(
    `edgeseg: internal error (please report it):\n${error instanceof Error ? error.stack : String(error)}\n`,
  );
  return 70;
}

/**
 * stdout that cannot be written (`> /dev/full`, a full disk, a closed pipe) ends the command at
 * once: later writes would fail the same way, and Node would otherwise die of an unhandled 'error'.
 * A reader that went away is not worth a message (`| head`); anything else is one line.
 */
function watchStandardOutput(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(BROKEN_PIPE_EXIT);
    const problem = describeSystemError(error) ?? error.message;
    process.stderr.write(`edgeseg: cannot write the output to stdout: ${problem.replace(/^\w+: /, '')}\n`);
    process.exit(1);
  });
}
