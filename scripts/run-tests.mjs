#!/usr/bin/env node
// Runs the test suites with Node's built-in test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [--unit | --integration] [--serial] [file-filter...]
// Every entry point (npm test, test:unit, test:integration, a filtered run) first makes sure the
// system tools the tests talk to are there: a test never skips because its tool is missing.
//
// Test files run in two groups. Most run side by side, one more at a time than the machine has cores
// (they share no port: every server binds a free one; and no folder: each makes its own temporary
// one). The files in ALONE then run one at a time: they assert a rate, a memory bound or a signal's
// timing, which a neighbour's load would make wrong. --serial runs everything one at a time.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';

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
const groups = serial
  ? [{ files, concurrency: 1 }]
  : [
      // Most files wait on brokers, daemons and subprocesses more than they compute: one more at a
      // time than there are cores keeps the cores busy.
      { files: together, concurrency: availableParallelism() + 1 },
      { files: alone, concurrency: 1 },
    ];

const countsDir = mkdtempSync(join(tmpdir(), 'edgeseg-test-counts-'));
const started = Date.now();
let failed = false;
const totals = { passed: 0, failed: 0, files: {} };
for (const [index, group] of groups.entries()) {
  if (group.files.length === 0) continue;
  const countsFile = join(countsDir, `${index}.json`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${group.concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts/test-durations.mjs')}`,
      `--test-reporter-destination=${countsFile}`,
      ...group.files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, EDGESEG_TEST: '1' } },
  );
  if (result.status !== 0) failed = true;
  const counts = JSON.parse(readFileSync(countsFile, 'utf8'));
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  Object.assign(totals.files, counts.files);
}
rmSync(countsDir, { recursive: true, force: true });

const slowest = Object.entries(totals.files)
  .sort((a, b) => b[1] - a[1])
  .slice(0, 10);
console.log('\nslowest test files (sum of their top-level tests):');
for (const [file, ms] of slowest) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`);
console.log(`wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed`);
process.exit(failed || totals.failed > 0 ? 1 : 0);
