// Data-parallel training steps: the same weights as the single-threaded step, and a worker that
// fails ends the step with an error naming it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createSyntheticRoadSource, SYNTHETIC_ROAD_CLASSES } from '../../../src/data/synthetic-road.js';
import type { SegmentationBatch } from '../../../src/data/types.js';
import { createFcn8s, type FcnModel } from '../../../src/model/fcn8s.js';
import { tf } from '../../../src/model/tf.js';
import { UserError } from '../../../src/system/errors.js';
import { loadLatestCheckpoint, readLatestPointer } from '../../../src/train/checkpoints.js';
import { uniformClassWeights } from '../../../src/train/class-weights.js';
import { initTrainingTf } from '../../../src/train/kernels/tf-training.js';
import { train } from '../../../src/train/loop.js';
import { GradientWorkers } from '../../../src/train/step/gradient-workers.js';
import { HostAdam } from '../../../src/train/step/host-adam.js';
import { trainableVariables, trainStep } from '../../../src/train/step/step.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { tinyFcnConfig } from '../tiny-model.js';

const size = { height: 32, width: 64 };

async function trainingBatches(): Promise<SegmentationBatch[]> {
  const source = createSyntheticRoadSource({ imageSize: size, numTraining: 8, numValidation: 1, seed: 3 });
  const batches: SegmentationBatch[] = [];
  for await (const batch of source.trainGenerator(4)) batches.push(batch);
  return batches;
}

/**
 * The weights after one step per batch, with `workers` gradient workers (0: trainStep itself), and
 * the images each step reported done as it went (the progress bar's ticks).
 */
async function weightsAfterSteps(
  batches: SegmentationBatch[],
  workers: number,
  microBatchSize: number,
): Promise<{ weights: Float32Array[]; ticks: number[][] }> {
  const model = createFcn8s(tinyFcnConfig(size, 'fcn8s'), { seed: 7, classes: SYNTHETIC_ROAD_CLASSES });
  const variables = trainableVariables(model);
  const optimizer = new HostAdam(variables, 1e-3);
  // Uneven class weights: every part must divide by the whole batch's weight.
  const classWeights = uniformClassWeights(SYNTHETIC_ROAD_CLASSES).map((w, id) => w * (1 + id));
  const weights = tf.tensor1d(classWeights);
  const parallel =
    workers > 0
      ? await GradientWorkers.start({
          count: workers,
          model,
          variables,
          backend: 'wasm',
          classWeights,
          channelOrder: 'BGR',
          dropoutRate: 0.5,
          maxPartImages: microBatchSize,
          ...size,
        })
      : undefined;
  const ticks: number[][] = [];
  try {
    for (const [step, batch] of batches.entries()) {
      const stepTicks: number[] = [];
      ticks.push(stepTicks);
      const onImages = (images: number) => stepTicks.push(images);
      if (parallel) await parallel.trainStep(optimizer, batch, weights, 100 + step, microBatchSize, onImages);
      else
        trainStep(
          model,
          optimizer,
          variables,
          batch,
          weights,
          100 + step,
          'BGR',
          0.5,
          microBatchSize,
          onImages,
        );
    }
    return { weights: variables.map((variable) => variable.dataSync() as Float32Array), ticks };
  } finally {
    await parallel?.stop();
    weights.dispose();
    model.dispose();
  }
}

test('1 and 2 gradient workers give bit for bit the weights of the single-threaded step after 2 steps', async () => {
  await initTrainingTf('wasm');
  const batches = await trainingBatches();
  assert.equal(batches.length, 2);
  // micro-batch 2: one part each for main and 1 worker; micro-batch 1 with 2 workers: two rounds (3 + 1 parts).
  for (const [workers, microBatchSize] of [
    [1, 2],
    [2, 1],
  ] as const) {
    const singleRun = await weightsAfterSteps(batches, 0, microBatchSize);
    const parallelRun = await weightsAfterSteps(batches, workers, microBatchSize);
    const single = singleRun.weights;
    const parallel = parallelRun.weights;
    // Progress within a step: one tick per micro-batch alone, one per round of threads with workers.
    for (const [step, batch] of batches.entries()) {
      const parts = Math.ceil(batch.size / microBatchSize);
      const perRound = Math.min(batch.size, microBatchSize * (workers + 1));
      assert.deepEqual(
        singleRun.ticks[step],
        Array.from({ length: parts }, (_, k) => Math.min(microBatchSize, batch.size - k * microBatchSize)),
      );
      assert.deepEqual(
        parallelRun.ticks[step],
        Array.from({ length: Math.ceil(batch.size / perRound) }, (_, k) =>
          Math.min(perRound, batch.size - k * perRound),
        ),
      );
    }
    let differing = 0;
    let moved = 0;
    single.forEach((values, i) => {
      for (let j = 0; j < values.length; j++) if (values[j] !== parallel[i]![j]) differing++;
    });
    // The comparison must see the steps: the weights moved from their start.
    const start = createFcn8s(tinyFcnConfig(size, 'fcn8s'), { seed: 7, classes: SYNTHETIC_ROAD_CLASSES });
    trainableVariables(start).forEach((variable, i) => {
      const initial = variable.dataSync();
      for (let j = 0; j < initial.length; j++) if (initial[j] !== single[i]![j]) moved++;
    });
    start.dispose();
    const total = single.reduce((n, v) => n + v.length, 0);
    assert.ok(moved > 0.1 * total, `only ${moved} of ${total} weights moved`);
    console.log(
      `${workers} workers, micro-batch ${microBatchSize}: ${moved} of ${total} weights moved, ${differing} differ`,
    );
    // Same kernels, same inputs, gradients added in the same order: not one float may differ.
    assert.equal(
      differing,
      0,
      `${workers} workers, micro-batch ${microBatchSize}: ${differing} weights differ`,
    );
  }
});

/** The process's OS threads: a worker thread that was not ended is one more. */
function threadCount(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}

/**
 * Trains 1 epoch of 3 steps with `workers` gradient workers while worker 1 fails as
 * EDGESEG_TEST_GRADIENT_WORKER_FAIL says; returns the error and the weights after step 1.
 */
async function trainWithFailingWorker(
  runDir: string,
  workers: number,
  failure: string,
): Promise<{ error: unknown; afterFirstStep: Float32Array[] }> {
  let model: FcnModel | undefined;
  let afterFirstStep: Float32Array[] = [];
  process.env.EDGESEG_TEST_GRADIENT_WORKER_FAIL = failure;
  try {
    await train({
      source: createSyntheticRoadSource({ imageSize: size, numTraining: 12, numValidation: 4, seed: 3 }),
      runDir,
      createModel: (): FcnModel => {
        model = createFcn8s(tinyFcnConfig(size), { seed: 7, classes: SYNTHETIC_ROAD_CLASSES });
        return model;
      },
      batchSize: 4,
      microBatchSize: 1,
      trainWorkers: workers,
      epochs: 1,
      learningRate: 1e-3,
      classWeights: uniformClassWeights(SYNTHETIC_ROAD_CLASSES),
      progress: false,
      hooks: {
        afterStep: (step) => {
          if (step === 1)
            afterFirstStep = trainableVariables(model!).map((v) => (v.dataSync() as Float32Array).slice());
        },
      },
    });
    return { error: undefined, afterFirstStep };
  } catch (error) {
    return { error, afterFirstStep };
  } finally {
    delete process.env.EDGESEG_TEST_GRADIENT_WORKER_FAIL;
  }
}

test('a gradient worker whose wasm heap runs out ends the step naming it; the last step is saved, no thread is left', async () => {
  await initTrainingTf('wasm');
  const runDir = await makeTempDir();
  const threadsBefore = threadCount();
  // Micro-batches of 1 with 2 workers: rounds of 3 parts (main, worker 1, worker 2), then 1 (main);
  // worker 1's 2nd part is in step 2.
  const { error, afterFirstStep } = await trainWithFailingWorker(runDir, 2, '1:2:heap');
  assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
  assert.match(
    error.message,
    /^training stopped: gradient worker 1 ran out of wasm memory during step 2 \(micro-batches of 1 of the batch of 4, 32x64 images, width 0\.03125\): the wasm heap \([\d.]+ GiB\) could not hold another 4096\.0 MiB tensor; saved checkpoint epoch-0001-step-000001, the last finished step$/,
  );
  assert.match(String(error.hint), /fewer --train-workers/);
  assert.match(String(error.hint), /--resume/);
  // The other worker was ended too: the process has no more threads than before.
  assert.ok(threadCount() <= threadsBefore, `${threadCount()} threads, ${threadsBefore} before`);
  const loaded = await loadLatestCheckpoint(runDir);
  assert.equal(loaded.state.globalStep, 1);
  assert.equal(loaded.optimizer.state().iterations, 1);
  for (const [i, variable] of trainableVariables(loaded.model).entries())
    assert.deepEqual(variable.dataSync(), afterFirstStep[i], `variable ${i}`);
  loaded.model.dispose();
});

test('a gradient worker that dies in the first step is named; no checkpoint is claimed', async () => {
  await initTrainingTf('wasm');
  const runDir = await makeTempDir();
  const threadsBefore = threadCount();
  const { error } = await trainWithFailingWorker(runDir, 1, '1:1:exit');
  assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
  assert.match(
    error.message,
    /^training stopped: gradient worker 1 failed during step 1 \(micro-batches of 1 of the batch of 4, 32x64 images, width 0\.03125\): Error: its thread exited \(code 3\); no checkpoint was written yet$/,
  );
  assert.match(String(error.hint), /--train-workers 0/);
  assert.equal(await readLatestPointer(runDir), undefined);
  assert.ok(threadCount() <= threadsBefore, `${threadCount()} threads, ${threadsBefore} before`);
});
