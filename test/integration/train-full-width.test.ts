import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeKittiTree } from '../data/trees.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Full-width VGG16 FCN-8s (134 M weights, fc6 alone 411 MB) on wasm; small images keep it to minutes. */
const fullWidth = ['--width', '1', '--tf-backend', 'wasm', '--no-progress', '--no-export'];

test('full-width FCN-8s trains on wasm from a KITTI-format tree, in micro-batches, and checkpoints', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 3 });
  const out = join(dir, 'run');
  const result = await runCli(
    [
      'train',
      '--data-source',
      'kitti',
      '--data-dir',
      tree.dataRoad,
      '--validation-fraction',
      '0.34',
      '--size',
      '32x64',
      '--batch-size',
      '2',
      '--micro-batch',
      '1',
      // One thread's heap is what this test is about; a gradient worker would hold a second copy
      // of the 3.6 GiB heap (test/train/step/gradient-workers.test.ts covers the workers).
      '--train-workers',
      '0',
      '--epochs',
      '1',
      ...fullWidth,
      '--out',
      out,
    ],
    { timeoutMs: 900_000 },
  );
  // Before HostAdam, this ended in "internal error ... RuntimeError: Aborted()" (tfjs Adam's moments
  // and temporaries for fc6 in the wasm heap).
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /memory: micro-batches of 1 \(gradients summed to the batch of 2\), wasm heap about/,
  );
  assert.match(result.stderr, /epoch 1\/1: train loss \d+\.\d+, val loss \d+\.\d+/);
  assert.deepEqual((await readdir(join(out, 'checkpoints'))).sort(), [
    'best.json',
    'epoch-0001',
    'latest.json',
  ]);
});

test('a size whose single image cannot fit the wasm heap is refused before the first step, naming what to use', async () => {
  const dir = await makeTempDir();
  const result = await runCli(
    [
      'train',
      '--data-source',
      'synthetic-road',
      '--num-training',
      '1',
      '--num-validation',
      '1',
      '--size',
      '1024x2048',
      '--batch-size',
      '20',
      ...fullWidth,
      '--out',
      join(dir, 'run'),
    ],
    { timeoutMs: 300_000 },
  );
  assert.notEqual(result.code, 0);
  assert.doesNotMatch(result.stderr, /internal error|Aborted|RangeError/);
  assert.match(
    result.stderr,
    /at 1024x2048 on the wasm backend needs about [\d.]+ GiB of its heap even one image at a time/,
  );
  assert.match(result.stderr, /tfjs-node/);
  assert.doesNotMatch(result.stderr, /epoch 1\/1: /);
});
