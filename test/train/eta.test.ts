import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DataSource } from '../../src/data/types.js';
import { checkpointName } from '../../src/train/checkpoints.js';
import { etaStatus } from '../../src/train/epoch.js';
import { formatDuration, remainingImages, StepClock } from '../../src/train/eta.js';

test('a resumed run has an ETA before its first step, from the rate the checkpoint recorded', () => {
  // The case: KITTI-sized epoch of 1000 images, batch 20, stopped after 30 steps of epoch 1 of 10.
  const run = {
    clock: new StepClock(0.5),
    state: { epoch: 0, stepInEpoch: 30 } as never,
    epochs: 10,
    batchSize: 20,
    source: { numTraining: 1000 } as DataSource,
  };
  // 400 images left in the epoch at 0.5 s each; 400 + 9 × 1000 in the run.
  assert.equal(etaStatus(run), '2.00 img/s | epoch ETA 3m20s | run ETA 1h18m');
});

test('within the first step the ETA comes from its finished micro-batches', () => {
  // Full-width VGG16 at 160x576 on wasm: 17 s an image, a step of 20 images takes minutes.
  const run = {
    clock: new StepClock(),
    state: { epoch: 0, stepInEpoch: 0 } as never,
    epochs: 2,
    batchSize: 20,
    source: { numTraining: 40 } as DataSource,
  };
  assert.equal(etaStatus(run), '? img/s | epoch ETA ? | run ETA ?');
  // 3 images in 51 s: 37 left in the epoch, 77 in the run.
  assert.equal(etaStatus(run, { images: 3, seconds: 51 }), '0.06 img/s | epoch ETA 10m29s | run ETA 21m49s');
});

test('the ETA follows this process’s measured steps, not the first one nor the recorded rate', () => {
  const clock = new StepClock(0.5);
  assert.equal(clock.secondsPerImage(), 0.5);
  clock.record(4, 40); // the first step pays for heap growth: used only until another is measured
  assert.equal(clock.secondsPerImage(), 10);
  clock.record(4, 4);
  clock.record(4, 8);
  assert.equal(clock.secondsPerImage(), 1.5);
  assert.equal(clock.secondsFor(100), 150);
  // Only the recent window counts, so a run that speeds up (cache warm, load gone) is followed.
  for (let i = 0; i < 20; i++) clock.record(4, 2);
  assert.equal(clock.secondsPerImage(), 0.5);
  assert.equal(new StepClock().secondsFor(10), undefined);
});

test('remaining images count the rest of this epoch and every later one', () => {
  assert.deepEqual(remainingImages(0, 10, 600, 1000), { epoch: 400, run: 9400 });
  assert.deepEqual(remainingImages(9, 10, 1000, 1000), { epoch: 0, run: 0 });
  // A last batch smaller than the batch size: never negative.
  assert.deepEqual(remainingImages(2, 3, 1020, 1000), { epoch: 0, run: 0 });
});

test('durations are rounded before they are split, so never "9m60s"', () => {
  assert.equal(formatDuration(599.7), '10m00s');
  assert.equal(formatDuration(59.6), '1m00s');
  assert.equal(formatDuration(7), '7s');
  assert.equal(formatDuration(3600 * 3 + 7 * 60 + 5), '3h07m');
  assert.equal(formatDuration(undefined), '?');
  assert.equal(formatDuration(Number.POSITIVE_INFINITY), '?');
});

test('checkpoint names count epochs as the progress bar does', () => {
  // After epoch 1 finished: epoch-0001. Stopped after step 5 of the bar's "epoch 2/10": epoch-0002-step-000005.
  assert.equal(checkpointName({ epoch: 1, stepInEpoch: 0 }), 'epoch-0001');
  assert.equal(checkpointName({ epoch: 1, stepInEpoch: 5 }), 'epoch-0002-step-000005');
  assert.equal(checkpointName({ epoch: 0, stepInEpoch: 4 }), 'epoch-0001-step-000004');
});
