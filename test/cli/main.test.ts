import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { repoRoot, runCli } from '../helpers/cli.js';

test('edgeseg --version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string };
  const result = await runCli(['--version']);
  assert.equal(result.code, 0);
  assert.equal(result.stdout.trim(), version);
});

test('an unknown command fails with a usage hint', async () => {
  const result = await runCli(['frobnicate']);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /unknown command 'frobnicate'/);
});

test('a malformed --size is reported the same way by every command that takes one', async () => {
  for (const args of [
    ['model', 'init', '--classes', '2', '--out', 'unused', '--size', '160'],
    ['train', '--data-source', 'synthetic-road', '--out', 'unused', '--size', '160'],
    ['eval', '--model', 'models/synthetic-road-fcn8s', '--data-source', 'synthetic-road', '--size', '160'],
    ['check-data', '--data-source', 'synthetic-road', '--size', '160'],
    ['bench', '--model', 'models/synthetic-road-fcn8s', '--size', '160'],
  ]) {
    const result = await runCli(args);
    assert.equal(result.code, 1, `${args[0]}: ${result.stderr}`);
    assert.equal(
      result.stderr.trim(),
      'edgeseg: --size: must look like HEIGHTxWIDTH (e.g. 160x576), got "160"',
      args[0],
    );
  }
});
