// A wasm heap that runs out mid-run: the allocation fails at once with what ran out, training stops
// with a plain message and the hints, and the checkpoint of the last finished step is whole.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSyntheticRoadSource, SYNTHETIC_ROAD_CLASSES } from '../../../src/data/synthetic-road.js';
import { createFcn8s, type FcnModel } from '../../../src/model/fcn8s.js';
import { tf } from '../../../src/model/tf.js';
import { UserError } from '../../../src/system/errors.js';
import { loadLatestCheckpoint, readLatestPointer } from '../../../src/train/checkpoints.js';
import { uniformClassWeights } from '../../../src/train/class-weights.js';
import { initTrainingTf } from '../../../src/train/kernels/tf-training.js';
import { train } from '../../../src/train/loop.js';
import { trainableVariables } from '../../../src/train/step/step.js';
import { guardWasmHeap, WasmHeapExhausted } from '../../../src/train/step/wasm-heap.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { tinyFcnConfig } from '../tiny-model.js';

const size = { height: 32, width: 64 };

interface WasmModule {
  _malloc: (bytes: number) => number;
  _free: (offset: number) => void;
}

/**
 * Fills the wasm heap up to its 4 GiB limit with blocks nobody touches (the pages are reserved,
 * not resident), leaving less than 64 KiB free; returns the function that frees them again.
 */
function fillWasmHeap(): () => void {
  const module = (tf.backend() as unknown as { wasm: WasmModule }).wasm;
  const blocks: number[] = [];
  for (let bytes = 2 ** 31; bytes >= 2 ** 16; ) {
    try {
      const offset = module._malloc(bytes) >>> 0;
      if (offset === 0) throw new Error('malloc returned 0');
      blocks.push(offset);
    } catch {
      bytes /= 2;
    }
  }
  return () => {
    for (const offset of blocks) module._free(offset);
  };
}

test('a tensor the full wasm heap cannot hold fails at once, naming what ran out', async () => {
  await initTrainingTf('wasm');
  guardWasmHeap();
  const kept = tf.tensor1d([1, 2, 3]);
  const release = fillWasmHeap();
  try {
    assert.throws(
      () => tf.zeros([1 << 20]),
      (error: Error) =>
        error instanceof WasmHeapExhausted &&
        /the wasm heap \([\d.]+ GiB\) could not hold another 4\.0 MiB tensor/.test(error.message),
    );
  } finally {
    release();
  }
  assert.deepEqual([...kept.dataSync()], [1, 2, 3]);
  // The heap is usable again once there is room.
  const after = tf.ones([1 << 20]);
  assert.equal(tf.sum(after).dataSync()[0], 1 << 20);
  after.dispose();
  kept.dispose();
});

test('training that outgrows the wasm heap stops with what to do and saves the last finished step', async () => {
  await initTrainingTf('wasm');
  const runDir = await makeTempDir();
  let model: FcnModel | undefined;
  let afterFirstStep: Float32Array[] = [];
  let release: (() => void) | undefined;
  let failure: unknown;
  try {
    await train({
      source: createSyntheticRoadSource({ imageSize: size, numTraining: 12, numValidation: 4, seed: 3 }),
      runDir,
      createModel: (): FcnModel => {
        model = createFcn8s(tinyFcnConfig(size), { seed: 7, classes: SYNTHETIC_ROAD_CLASSES });
        return model;
      },
      batchSize: 4,
      microBatchSize: 2,
      epochs: 1,
      learningRate: 1e-3,
      classWeights: uniformClassWeights(SYNTHETIC_ROAD_CLASSES),
      progress: false,
      hooks: {
        afterStep: (step) => {
          if (step !== 1) return;
          // The weights the checkpoint must hold, then a heap with no room for step 2.
          afterFirstStep = trainableVariables(model!).map((v) => (v.dataSync() as Float32Array).slice());
          release = fillWasmHeap();
        },
      },
    });
  } catch (error) {
    failure = error;
  } finally {
    release?.();
  }
  assert.ok(failure instanceof UserError, `expected a UserError, got ${String(failure)}`);
  assert.match(
    failure.message,
    /^training ran out of wasm memory during step 2 \(micro-batches of 2 of the batch of 4, 32x64 images, width 0\.03125\): the wasm heap \([\d.]+ GiB\) could not hold another [\d.]+ MiB tensor; saved checkpoint epoch-0001-step-000001, the last finished step$/,
  );
  assert.match(
    String(failure.hint),
    /smaller --micro-batch \(e\.g\. 1\), --size or --width, or train with tfjs-node/,
  );
  assert.match(String(failure.hint), /--resume/);

  assert.equal((await readLatestPointer(runDir))?.checkpoint, 'epoch-0001-step-000001');
  const loaded = await loadLatestCheckpoint(runDir);
  assert.equal(loaded.state.globalStep, 1);
  assert.equal(loaded.optimizer.state().iterations, 1);
  const weights = trainableVariables(loaded.model).map((v) => v.dataSync() as Float32Array);
  assert.equal(weights.length, afterFirstStep.length);
  for (let i = 0; i < weights.length; i++) assert.deepEqual(weights[i], afterFirstStep[i], `variable ${i}`);
  loaded.model.dispose();
});
