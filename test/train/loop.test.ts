import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSyntheticRoadSource, SYNTHETIC_ROAD_CLASSES } from '../../src/data/synthetic-road.js';
import { createFcn8s, type FcnModel } from '../../src/model/fcn8s.js';
import { tf } from '../../src/model/tf.js';
import { loadLatestCheckpoint, readLatestPointer } from '../../src/train/checkpoints.js';
import { uniformClassWeights } from '../../src/train/class-weights.js';
import { initTrainingTf } from '../../src/train/kernels/tf-training.js';
import { train } from '../../src/train/loop.js';
import { HostAdam } from '../../src/train/step/host-adam.js';
import { trainableVariables, trainStep } from '../../src/train/step/step.js';
import { makeTempDir } from '../helpers/tmp.js';
import { tinyFcnConfig } from './tiny-model.js';

const size = { height: 32, width: 64 };
const tinySource = () =>
  createSyntheticRoadSource({ imageSize: size, numTraining: 8, numValidation: 4, seed: 3 });
const tinyModel = (head: 'fcn8s' | 'original' = 'fcn8s'): FcnModel =>
  createFcn8s(tinyFcnConfig(size, head), { seed: 7, classes: SYNTHETIC_ROAD_CLASSES });
const weights = uniformClassWeights(SYNTHETIC_ROAD_CLASSES);
/** Settings of the small runs that exercise checkpoints. */
const tinyRun = {
  createModel: tinyModel,
  batchSize: 4,
  learningRate: 1e-3,
  classWeights: weights,
  progress: false,
};

function snapshot(model: FcnModel): Float32Array[] {
  return trainableVariables(model).map((v) => v.dataSync() as Float32Array);
}

for (const head of ['fcn8s', 'original'] as const) {
  test(`a tiny FCN-8s (${head} head) trains on wasm: the loss on a batch falls`, async () => {
    await initTrainingTf('wasm');
    const model = tinyModel(head);
    const variables = trainableVariables(model);
    const optimizer = new HostAdam(variables, 1e-2);
    const classWeights = tf.tensor1d(weights);
    const source = tinySource();
    const batch = (await source.trainGenerator(4).next()).value;
    assert.ok(batch);
    const losses: number[] = [];
    for (let step = 0; step < 12; step++)
      losses.push(
        trainStep(model, optimizer, variables, batch, classWeights, step, model.config.inputChannelOrder),
      );
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    const first = losses[0]!;
    const last = Math.min(...losses.slice(-3));
    assert.ok(last < first * 0.8, `loss did not fall: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  });
}

test('resuming a stopped run gives bit-identical weights to an uninterrupted run, micro-batches included', async () => {
  await initTrainingTf('wasm');
  const common = {
    createModel: tinyModel,
    learningRateSchedule: 'cosine' as const,
    epochs: 2,
    batchSize: 4,
    learningRate: 1e-3,
    seed: 5,
    classWeights: weights,
    progress: false,
  };
  const straightDir = await makeTempDir();
  // Micro-batches of 2: the resumed run below is not told, and must take them from the checkpoint.
  const straight = await train({ ...common, source: tinySource(), runDir: straightDir, microBatchSize: 2 });
  assert.equal(straight.state.globalStep, 4);
  assert.equal(straight.state.history.length, 2);

  // Stop after the third step (mid second epoch), as Ctrl-C does, then resume in a fresh model.
  const resumedDir = await makeTempDir();
  const controller = new AbortController();
  const stopped = await train({
    ...common,
    source: tinySource(),
    runDir: resumedDir,
    microBatchSize: 2,
    signal: controller.signal,
    hooks: { afterStep: (step) => step === 3 && controller.abort() },
  });
  assert.equal(stopped.interrupted, true);
  assert.equal(stopped.checkpoint, 'epoch-0002-step-000001');
  const resumed = await train({ ...common, source: tinySource(), runDir: resumedDir, resume: true });
  assert.equal(resumed.interrupted, false);
  assert.equal(resumed.state.globalStep, 4);

  const expected = snapshot(straight.model);
  const actual = snapshot(resumed.model);
  assert.equal(actual.length, expected.length);
  const initial = snapshot(tinyModel());
  const changed = expected.filter((values, i) => values.some((v, j) => v !== initial[i]![j])).length;
  assert.ok(changed > expected.length / 2, `training changed only ${changed}/${expected.length} variables`);
  for (let i = 0; i < expected.length; i++)
    assert.deepEqual(actual[i], expected[i], `variable ${i} differs after resume`);
  assert.deepEqual(
    resumed.state.history.map((h) => h.trainLoss),
    straight.state.history.map((h) => h.trainLoss),
  );
});

test('a checkpoint write that dies half-way leaves the previous checkpoint intact and loadable', async () => {
  await initTrainingTf('wasm');
  const runDir = await makeTempDir();
  const common = { ...tinyRun, seed: 1 };
  const first = await train({ ...common, epochs: 1, source: tinySource(), runDir });
  const savedWeights = snapshot(first.model);

  let writes = 0;
  await assert.rejects(
    train({
      ...common,
      epochs: 2,
      source: tinySource(),
      runDir,
      resume: true,
      hooks: {
        beforeRename: async () => {
          writes += 1;
          throw new Error('simulated crash: disk full');
        },
      },
    }),
    /simulated crash/,
  );
  assert.equal(writes, 1);
  assert.equal((await readLatestPointer(runDir))?.checkpoint, 'epoch-0001');
  const entries = await readdir(join(runDir, 'checkpoints'));
  assert.deepEqual(
    entries.filter((e) => e.startsWith('epoch-')),
    ['epoch-0001'],
  );
  assert.equal(entries.filter((e) => e.startsWith('.tmp-')).length, 0);
  const loaded = await loadLatestCheckpoint(runDir);
  assert.equal(loaded.state.epoch, 1);
  const loadedWeights = snapshot(loaded.model);
  for (let i = 0; i < savedWeights.length; i++) assert.deepEqual(loadedWeights[i], savedWeights[i]);
  const state = JSON.parse(
    await readFile(join(runDir, 'checkpoints', 'epoch-0001', 'training-state.json'), 'utf8'),
  );
  assert.equal(state.history.length, 1);
});

test('a fresh run refuses a folder that holds an earlier run; overwrite starts over cleanly', async () => {
  await initTrainingTf('wasm');
  const runDir = await makeTempDir();
  const common = tinyRun;
  await train({ ...common, epochs: 2, seed: 1, source: tinySource(), runDir });
  const eventFiles = async () => (await readdir(join(runDir, 'logs'))).filter((f) => f.includes('tfevents'));
  assert.equal((await eventFiles()).length, 1);

  // Forgetting --resume must not prune the earlier run's checkpoints or mix its logs.
  await assert.rejects(
    train({ ...common, epochs: 1, seed: 2, source: tinySource(), runDir }),
    (error: Error) => {
      assert.match(error.message, /checkpoints\/latest\.json: this folder already holds a training run/);
      assert.match(error.message, /epoch-0002, 2 epochs done/);
      return true;
    },
  );
  assert.equal((await readLatestPointer(runDir))?.checkpoint, 'epoch-0002');
  assert.equal((await eventFiles()).length, 1);
  await assert.rejects(
    train({ ...common, epochs: 1, source: tinySource(), runDir, resume: true, overwrite: true }),
    /--overwrite: cannot be combined with --resume/,
  );

  const fresh = await train({ ...common, epochs: 1, seed: 2, source: tinySource(), runDir, overwrite: true });
  assert.equal(fresh.state.history.length, 1);
  assert.equal((await readLatestPointer(runDir))?.checkpoint, 'epoch-0001');
  assert.deepEqual(
    (await readdir(join(runDir, 'checkpoints'))).filter((e) => e.startsWith('epoch-')),
    ['epoch-0001'],
  );
  assert.equal((await eventFiles()).length, 1);
});
