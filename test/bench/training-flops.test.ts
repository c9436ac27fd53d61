import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardFlopsPerImage } from '../../src/bench/training.js';
import { CAFFE_VGG_NORMALIZATION } from '../../src/model/architecture.js';
import { runCli } from '../helpers/cli.js';

test('the training bench counts a full-width FCN-8s forward pass at 224x224 as VGG16 plus fc6/fc7 as convolutions', () => {
  const flops = forwardFlopsPerImage({
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
    numClasses: 2,
    head: 'fcn8s',
    height: 224,
    width: 224,
    widthMultiplier: 1,
  });
  // VGG16's 13 convolutions: 15.35 G multiply-adds; fc6 (7x7x512x4096) and fc7 (4096x4096) at 7x7.
  const expected = 2 * 15.347e9 + 2 * 49 * 512 * 4096 * 49 + 2 * 4096 * 4096 * 49;
  assert.ok(Math.abs(flops - expected) < 0.002 * expected, `${flops / 1e9} vs ${expected / 1e9} GFLOP`);
});

test('bench --training reports images/s and GFLOP/s for the width, size and batch asked for', async () => {
  const result = await runCli(
    [
      'bench',
      '--training',
      '--tf-backends',
      'wasm',
      '--train-width',
      '0.0625',
      '--size',
      '32x64',
      '--train-batch',
      '1',
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /training: FCN-8s width 0\.0625, 32x64, batch 1/);
  const [, images, gflops] = result.stdout.match(/wasm +([\d.]+) images\/s, ([\d.]+) GFLOP\/s/) ?? [];
  const flops = forwardFlopsPerImage({
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
    numClasses: 6,
    head: 'fcn8s',
    height: 32,
    width: 64,
    widthMultiplier: 0.0625,
  });
  // GFLOP/s is images/s times 3 forward passes' FLOPs (both printed rounded to 2 decimals).
  assert.ok(Number(images) > 0);
  assert.ok(Math.abs(Number(gflops) - (Number(images) * 3 * flops) / 1e9) <= 0.01, result.stdout);
});

test('bench --training --train-workers 0,1 times the same steps without and with a gradient worker', async () => {
  const result = await runCli(
    [
      'bench',
      '--training',
      '--json',
      '--tf-backends',
      'wasm',
      '--train-workers',
      '0,1',
      '--train-width',
      '0.0625',
      '--size',
      '32x64',
      '--train-batch',
      '2',
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    results: Array<{ backend: string; workers: number; microBatchSize: number; imagesPerSecond: number }>;
  };
  // The worker's run splits the batch of 2 into one image for each thread.
  assert.deepEqual(
    report.results.map(({ backend, workers, microBatchSize }) => ({ backend, workers, microBatchSize })),
    [
      { backend: 'wasm', workers: 0, microBatchSize: 2 },
      { backend: 'wasm', workers: 1, microBatchSize: 1 },
    ],
  );
  for (const row of report.results) assert.ok(row.imagesPerSecond > 0);
});
