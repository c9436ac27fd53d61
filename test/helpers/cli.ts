// Runs the real `edgeseg` CLI in a subprocess, as a user would: from the run's compiled copy of src/
// when scripts/run-tests.mjs made one, else from src/ through tsx (a test file run on its own).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The `node` arguments that start `edgeseg` (its arguments follow). scripts/run-tests.mjs compiles
 * src/ once per run (scripts/test-build.mjs) and names the folder in EDGESEG_TEST_BUILD: plain JS
 * starts in about a quarter of the CPU time that tsx takes to compile src/ again in each process.
 */
export function cliNodeArgs(): string[] {
  const build = process.env.EDGESEG_TEST_BUILD;
  if (!build) return ['--import', 'tsx', join(repoRoot, 'src/cli/index.ts')];
  const entry = join(build, 'cli/index.js');
  if (!existsSync(entry))
    throw new Error(
      `EDGESEG_TEST_BUILD=${build} has no cli/index.js: unset it, or run the tests through scripts/run-tests.mjs`,
    );
  return [entry];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string;
  /** A program that runs node, e.g. ['qemu-x86_64-static', '-cpu', 'Haswell'] to emulate another CPU. */
  launcher?: string[];
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

export interface StartedCli {
  child: ChildProcess;
  /** Settles when it has exited, with its exit code and output. */
  result: Promise<CliResult>;
}

/**
 * Starts `edgeseg` without waiting for it, for tests that signal it. `detached` gives it its own
 * process group, so that `process.kill(-child.pid, 'SIGINT')` is a terminal's Ctrl-C.
 */
export function startCli(args: string[], options: CliOptions & { detached?: boolean } = {}): StartedCli {
  const [program, ...launcherArgs] = [...(options.launcher ?? []), process.execPath];
  const child = spawn(program!, [...launcherArgs, ...cliNodeArgs(), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`edgeseg ${args.join(' ')} timed out after ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
  return { child, result };
}
