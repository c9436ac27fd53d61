// Runs test files as scripts/run-tests.mjs asks: one node process per file (the file run directly, with
// node:test's reporters), up to `concurrency` at a time, in the order given (longest first, from the committed times in
// test/file-times.json, so that no long file starts last and runs on alone). Each file's output is
// held until it ends and then printed whole under its name, so that files running side by side do
// not interleave; each file's counts, wall time and CPU time come back to the caller.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The committed per-file times: { "test/x.test.ts": { "wallS": 12, "cpuS": 20 } }. */
export const TIMES_FILE = 'test/file-times.json';

export function readTimes(root) {
  try {
    return JSON.parse(readFileSync(join(root, TIMES_FILE), 'utf8'));
  } catch (error) {
    if (error.code === 'ENOENT') return {};
    throw new Error(`${TIMES_FILE}: ${error.message}; delete it and a full run writes it again`);
  }
}

/** Files without a committed time first (they may be long), then the longest first. */
export function longestFirst(files, times) {
  const wall = (file) => times[file]?.wallS ?? Number.POSITIVE_INFINITY;
  return [...files].sort((a, b) => wall(b) - wall(a) || a.localeCompare(b));
}

/** Whole seconds: enough to order the files, and a rerun changes fewer lines. */
export function writeTimes(root, results) {
  const times = {};
  for (const result of [...results].sort((a, b) => a.file.localeCompare(b.file))) {
    times[result.file] = {
      wallS: Math.round(result.wallMs / 1000),
      ...(result.cpuMs === undefined ? {} : { cpuS: Math.round(result.cpuMs / 1000) }),
    };
  }
  writeFileSync(join(root, TIMES_FILE), `${JSON.stringify(times, null, 2)}\n`);
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Runs `files` (paths relative to `root`), `concurrency` at a time, and resolves with one result per
 * file: { file, exitCode, passed, failed, testMs (sum of its top-level tests), wallMs, cpuMs }.
 */
export function runFiles(files, { root, concurrency, env, children, runStarted = Date.now() }) {
  const scratch = mkdtempSync(join(tmpdir(), 'edgeseg-test-run-'));
  const queue = [...files];
  const results = [];
  let index = 0;
  return new Promise((resolve) => {
    const startNext = () => {
      const file = queue.shift();
      if (file === undefined) {
        if (children.size === 0) {
          rmSync(scratch, { recursive: true, force: true });
          resolve(results);
        }
        return;
      }
      const id = index++;
      const countsFile = join(scratch, `${id}.counts.json`);
      const cpuFile = join(scratch, `${id}.cpu`);
      const started = Date.now();
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          join(root, 'scripts/test-cpu.mjs'),
          // The file runs in this process itself, not under `--test`, which would start a runner
          // process and then the file's own (tsx loaded twice: about 0.3 s of CPU a file). The
          // reporters and the exit code are the same either way.
          '--test-reporter=spec',
          '--test-reporter-destination=stdout',
          `--test-reporter=${join(root, 'scripts/test-durations.mjs')}`,
          `--test-reporter-destination=${countsFile}`,
          file,
        ],
        // Its own process group, so that stopping the run reaches the daemons and CLIs it started.
        {
          cwd: root,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...env, EDGESEG_TEST_CPU_FILE: cpuFile },
          detached: true,
        },
      );
      children.add(child);
      const output = [];
      child.stdout.on('data', (chunk) => output.push(chunk));
      child.stderr.on('data', (chunk) => output.push(chunk));
      child.on('close', (code, signal) => {
        children.delete(child);
        const wallMs = Date.now() - started;
        const counts = readJson(countsFile) ?? { passed: 0, failed: 0, files: {} };
        const cpuText = readText(cpuFile);
        const cpuMs = cpuText === undefined ? undefined : Number(cpuText);
        const exitCode = code ?? 1;
        // A runner that died before its reporter wrote (killed, out of memory) failed its file.
        const failed = counts.failed + (exitCode !== 0 && counts.failed === 0 ? 1 : 0);
        const testMs = Object.values(counts.files).reduce((sum, ms) => sum + ms, 0);
        results.push({ file, exitCode, passed: counts.passed, failed, testMs, wallMs, cpuMs });
        const cpu = cpuMs === undefined ? 'CPU unknown' : `${seconds(cpuMs)} CPU`;
        const how = signal ? `killed by ${signal}` : exitCode === 0 ? 'ok' : `exit code ${exitCode}`;
        process.stdout.write(
          `\n━━ ${file}: ${how}, ${seconds(wallMs)} wall from +${seconds(started - runStarted)}, ${cpu}\n${Buffer.concat(output).toString()}`,
        );
        startNext();
      });
    };
    for (let i = 0; i < Math.min(concurrency, files.length); i++) startNext();
    if (files.length === 0) startNext();
  });
}

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readJson(path) {
  const text = readText(path);
  return text === undefined ? undefined : JSON.parse(text);
}
