#!/usr/bin/env node
// Runs the test suites with Node's built-in test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--unit | --integration] [--serial] [--write-times] [file-filter...]
// Every entry point (npm test, test:unit, test:integration, a filtered run) first makes sure the
// system tools the tests talk to are there: a test never skips because its tool is missing.
//
// Each run first compiles src/ to a folder of its own (scripts/test-build.mjs), so that the CLI and
// daemon subprocesses the tests start load plain JS (EDGESEG_TEST_BUILD); it is removed at the end.
// Test files run in two groups. Most run side by side, one more at a time than the machine has cores
// (they share no port: every server binds a free one; and no folder: each makes its own temporary
// one), longest first by the times in test/file-times.json (a full run with --write-times rewrites it;
// a plain run leaves the clone as it found it), each file's output printed whole when it ends (scripts/test-scheduler.mjs). The files
// in ALONE then run one at a time: they assert a rate, a memory bound or a signal's timing, which a
// neighbour's load would make wrong. --serial runs everything one at a time, in name order.

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, sep } from 'node:path';
import { buildForTests, removeBuild } from './test-build.mjs';
import { longestFirst, readTimes, runFiles, writeTimes } from './test-scheduler.mjs';

/** Files that run alone, after the rest (paths relative to the repository): they assert a rate, a
 * memory bound or a signal's timing, which a neighbour's load would make wrong. CPU-heavy files that
 * only take longer under load (full-size models, calibration, emulation) run with the others. */
const ALONE = [
  'test/integration/daemon-fuzz.test.ts', // 10,000 requests answered in time, RSS bounded
  'test/integration/daemon-web-hostile.test.ts', // hostile HTTP clients against a live daemon
  'test/integration/daemon-web-stall.test.ts', // the frame rate while /metrics is flooded
  'test/integration/infer-video-interrupt.test.ts', // signals to a process group mid-write
];

const root = new URL('..', import.meta.url).pathname;
const tools = spawnSync(process.execPath, [join(root, 'scripts/ensure-test-tools.mjs')], {
  stdio: 'inherit',
});
if (tools.status !== 0) {
  console.error('run-tests: refusing to run without the tools above');
  process.exit(1);
}
const args = process.argv.slice(2);
const onlyUnit = args.includes('--unit');
const onlyIntegration = args.includes('--integration');
const serial = args.includes('--serial');
const filters = args.filter((arg) => !arg.startsWith('--'));

function collect(folder) {
  const found = [];
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) found.push(...collect(path));
    else if (entry.endsWith('.test.ts')) found.push(relative(root, path));
  }
  return found.sort();
}

const all = collect(join(root, 'test')).filter(
  (file) => filters.length === 0 || filters.some((f) => file.includes(f)),
);
const integrationPrefix = `test${sep}integration${sep}`;
const unit = all.filter((file) => !file.startsWith(integrationPrefix));
const integration = all.filter((file) => file.startsWith(integrationPrefix));
const files = [...(onlyIntegration ? [] : unit), ...(onlyUnit ? [] : integration)];
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
for (const file of ALONE) {
  if (!statSync(join(root, file), { throwIfNoEntry: false })) {
    console.error(`run-tests: ${file} is listed in ALONE but does not exist`);
    process.exit(1);
  }
}

const alone = files.filter((file) => ALONE.includes(file.split(sep).join('/')));
const together = files.filter((file) => !alone.includes(file));
const fullRun = filters.length === 0 && !onlyUnit && !onlyIntegration && !serial;
const times = readTimes(root);
const groups = serial
  ? [{ files, concurrency: 1 }]
  : [
      // Most files wait on brokers, daemons and subprocesses more than they compute: one more at a
      // time than there are cores keeps the cores busy.
      { files: longestFirst(together, times), concurrency: availableParallelism() + 1 },
      { files: longestFirst(alone, times), concurrency: 1 },
    ];

const started = Date.now();
const children = new Set();
let build;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    // Each file runs in its own process group (test-scheduler.mjs): the signal goes to all of it.
    for (const child of children) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // That group has just ended.
      }
    }
    if (build) removeBuild(build);
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}
build = await buildForTests(root);
const env = { ...process.env, EDGESEG_TEST: '1', EDGESEG_TEST_BUILD: build };
const results = [];
const groupTimes = [];
for (const group of groups) {
  if (group.files.length === 0) continue;
  const groupStarted = Date.now();
  const options = { root, concurrency: group.concurrency, env, children, runStarted: started };
  results.push(...(await runFiles(group.files, options)));
  const count = `${group.files.length} file${group.files.length === 1 ? '' : 's'}`;
  groupTimes.push(
    `${count} ${group.concurrency} at a time: ${((Date.now() - groupStarted) / 1000).toFixed(0)} s`,
  );
}
removeBuild(build);
if (fullRun && args.includes('--write-times')) writeTimes(root, results);

const totals = { passed: 0, failed: 0, cpuMs: 0, cpuUnknown: 0 };
for (const result of results) {
  totals.passed += result.passed;
  totals.failed += result.failed;
  if (result.cpuMs === undefined) totals.cpuUnknown += 1;
  else totals.cpuMs += result.cpuMs;
}
const failed = results.some((result) => result.exitCode !== 0);
const slowest = results
  .map((result) => [result.file, result.testMs])
  .sort((a, b) => b[1] - a[1])
  .slice(0, 10);
console.log('\nslowest test files (sum of their top-level tests):');
for (const [file, ms] of slowest) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`);
console.log(`wall time ${((Date.now() - started) / 1000).toFixed(0)} s (${groupTimes.join('; ')})`);
console.log(
  `CPU time ${(totals.cpuMs / 1000).toFixed(0)} s (the test files and the processes they started)${
    totals.cpuUnknown > 0 ? `, not counting ${totals.cpuUnknown} files whose figure is missing` : ''
  }`,
);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed`);
process.exit(failed || totals.failed > 0 ? 1 : 0);
