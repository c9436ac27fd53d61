// bin/edgeseg, the README's way to run the CLI from a checkout: it works from any folder (tsx and
// the onnxruntime worker resolved from the checkout, not the working folder), and a Ctrl-C during
// a command leaves the next run working.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportTree } from '../../src/data/export-tree.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const bin = join(repoRoot, 'bin', 'edgeseg');

test('bin/edgeseg from another folder runs infer on onnxruntime in a worker thread, not the tfjs fallback', async () => {
  const dir = await makeTempDir();
  await exportTree({ format: 'kitti', outDir: dir, count: 1, size: { height: 64, width: 192 }, seed: 0 });
  const result = spawnSync(
    bin,
    [
      'infer',
      '--model',
      join(repoRoot, 'models', 'synthetic-road-fcn8s'),
      '--input',
      join(dir, 'data_road', 'training', 'image_2'),
      '--out',
      join(dir, 'out'),
      '--inference-thread',
      'worker',
      '--no-progress',
    ],
    { cwd: dir, encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /1 frames in .* on onnxruntime\/cpu\n/);
});

test('Ctrl-C while bin/edgeseg starts a command ends it at once, and the next run works', async () => {
  const child = spawn(bin, ['data', 'export', '--out', join(await makeTempDir(), 'tree'), '--count', '500'], {
    cwd: repoRoot,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  process.kill(-child.pid!, 'SIGINT');
  const code = await new Promise<number | null>((resolve) =>
    child.on('close', (status, signal) => resolve(status ?? (signal ? 130 : null))),
  );
  assert.equal(code, 130, stderr);
  const again = spawnSync(bin, ['--version'], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /^\d+\.\d+\.\d+\n$/);
});
