// Runs the commander program and turns errors into exit codes: user errors print one clear
// message (no stack), anything else is a bug and prints the stack.

import type { Command } from 'commander';
import { InterruptedError, isUserError } from '../system/errors.js';
import { signalExitCode } from '../system/signals.js';

export async function runMain(program: Command): Promise<void> {
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
  process.stderr.write(
    `edgeseg: internal error (please report it):\n${error instanceof Error ? error.stack : String(error)}\n`,
  );
  return 70;
}
