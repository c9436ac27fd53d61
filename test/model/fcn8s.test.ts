// The FCN-8s model core: parameter count, bilinear filter, output shapes of both heads, the size
// check, deterministic dropout and checkpoint round trips.

import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { CAFFE_VGG_NORMALIZATION, type FcnConfig, fcnLayerSpecs } from '../../src/model/architecture.js';
import { upsampleFilter } from '../../src/model/bilinear.js';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { createFcn8s } from '../../src/model/fcn8s.js';
import { initTf, tf } from '../../src/model/tf.js';
import { makeTempDir } from '../helpers/tmp.js';

const base: FcnConfig = {
  numClasses: 3,
  height: 64,
  width: 96,
  widthMultiplier: 1 / 16,
  head: 'fcn8s',
  inputChannelOrder: 'BGR',
  normalization: CAFFE_VGG_NORMALIZATION,
};

before(async () => {
  await initTf('auto');
});

test('full-size FCN-8s has the paper model parameter count (VGG16 + fc6/fc7 convs + scoring)', () => {
  const specs = fcnLayerSpecs({ ...base, numClasses: 21, widthMultiplier: 1 });
  let total = 0;
  for (const spec of specs)
    total +=
      spec.kernel * spec.kernel * spec.inChannels * spec.outChannels + (spec.bias ? spec.outChannels : 0);
  // VGG16 convolutional part 14.71M + fc6 102.76M + fc7 16.78M + FCN-8s scoring/upsampling for 21 classes
  assert.ok(total > 134e6 && total < 135e6, `parameter count ${total}`);
});

test('the bilinear filter is FCN upsample_filt: symmetric, peaks at the centre, sums to factor²', () => {
  const filter = upsampleFilter(4);
  assert.deepEqual(Array.from(filter.slice(0, 4)), [0.0625, 0.1875, 0.1875, 0.0625]);
  const sum = upsampleFilter(16).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 64) < 1e-4);
});

for (const head of ['fcn8s', 'original'] as const) {
  test(`${head} head: logits have the input size and one channel per class`, () => {
    const model = createFcn8s({ ...base, head }, { seed: 3 });
    const images = tf.randomUniform([2, 64, 96, 3], 0, 255) as tf.Tensor4D;
    const logits = model.forward(images);
    assert.deepEqual(logits.shape, [2, 64, 96, 3]);
    const values = logits.dataSync();
    assert.ok(values.every(Number.isFinite));
    tf.dispose([images, logits]);
    model.dispose();
  });
}

test('input sizes not divisible by 32 are refused with the size in the message', () => {
  assert.throws(() => createFcn8s({ ...base, height: 100 }), /100x96.*divisible by 32/);
});

test('dropout is active only in training and is repeatable for a given seed', () => {
  const model = createFcn8s({ ...base, head: 'original' }, { seed: 5 });
  const images = tf.randomUniform([1, 64, 96, 3], 0, 255, 'float32', 9) as tf.Tensor4D;
  const a = model.forward(images, { training: true, dropoutSeed: 11 }).dataSync();
  const b = model.forward(images, { training: true, dropoutSeed: 11 }).dataSync();
  const c = model.forward(images, { training: true, dropoutSeed: 12 }).dataSync();
  const inference1 = model.forward(images).dataSync();
  const inference2 = model.forward(images).dataSync();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual(inference1, inference2);
  model.dispose();
});

test('dropoutRate 0 turns training dropout off; another rate changes the masks', () => {
  const model = createFcn8s({ ...base, head: 'original' }, { seed: 5 });
  const images = tf.randomUniform([1, 64, 96, 3], 0, 255, 'float32', 9) as tf.Tensor4D;
  const inference = model.forward(images).dataSync();
  const off = model.forward(images, { training: true, dropoutSeed: 11, dropoutRate: 0 }).dataSync();
  const half = model.forward(images, { training: true, dropoutSeed: 11 }).dataSync();
  const light = model.forward(images, { training: true, dropoutSeed: 11, dropoutRate: 0.1 }).dataSync();
  assert.deepEqual(off, inference);
  assert.notDeepEqual(light, half);
  assert.notDeepEqual(light, inference);
  model.dispose();
});

test('a saved checkpoint loads back with identical weights and outputs', async () => {
  const dir = await makeTempDir();
  const model = createFcn8s({ ...base, head: 'original' }, { seed: 7 });
  await saveModel(dir, model);
  await saveModel(dir, model); // a second save replaces the weights file, leaving one
  assert.equal((await readdir(dir)).filter((f) => f.endsWith('.bin')).length, 1);
  const loaded = await loadModel(dir);
  assert.deepEqual(loaded.config, model.config);
  for (const [name, variable] of model.params)
    assert.deepEqual(loaded.params.get(name)!.dataSync(), variable.dataSync(), name);
  const images = tf.randomUniform([1, 64, 96, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
  assert.deepEqual(loaded.forward(images).dataSync(), model.forward(images).dataSync());
  model.dispose();
  loaded.dispose();
});

test('a truncated weights file is reported with its path', async () => {
  const dir = await makeTempDir();
  const model = createFcn8s(base, { seed: 1 });
  const json = await saveModel(dir, model);
  model.dispose();
  await writeFile(join(dir, json.weightsManifest[0]!.paths[0]!), Buffer.alloc(100));
  await assert.rejects(loadModel(dir), /weights-[0-9a-f]{8}\.bin: has 100 bytes but model\.json describes/);
});

test('a folder without a checkpoint, or with a broken model.json, is reported with the file path', async () => {
  const dir = await makeTempDir();
  await assert.rejects(loadModel(dir), /model\.json: cannot read the checkpoint/);
  await writeFile(join(dir, 'model.json'), '{"format": ');
  await assert.rejects(loadModel(dir), /model\.json: not valid JSON/);
  await writeFile(join(dir, 'model.json'), '{"format": "something-else"}');
  await assert.rejects(loadModel(dir), /model\.json: not an edgeseg checkpoint: format/);
});
