#!/usr/bin/env node
// Runs the test suites with Node's built-in test runner (TypeScript through tsx).
// Unit tests (test/** except test/integration) first, then integration tests, one file at a time.
// Usage: node scripts/run-tests.mjs [--unit | --integration] [file-filter...]
// Every entry point (npm test, test:unit, test:integration, a filtered run) first makes sure the
// system tools the tests talk to are there: a test never skips because its tool is missing.

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

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

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, EDGESEG_TEST: '1' } },
);
process.exit(result.status ?? 1);
