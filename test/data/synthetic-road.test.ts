import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createSyntheticRoadSource,
  renderSyntheticScene,
  SYNTHETIC_ROAD_CLASSES,
} from '../../src/data/synthetic-road.js';
import { ConfigError } from '../../src/system/errors.js';
import { collect } from './trees.js';

const size = { height: 128, width: 384 };

test('the same seed renders the same scene; different seeds render different scenes', () => {
  const a = renderSyntheticScene(42, size);
  const b = renderSyntheticScene(42, size);
  const c = renderSyntheticScene(43, size);
  assert.deepEqual(a.image, b.image);
  assert.deepEqual(a.label, b.label);
  assert.notDeepEqual(a.image, c.image);
  assert.equal(a.image.length, 128 * 384 * 3);
  assert.equal(a.label.length, 128 * 384);
});

test('scenes contain every class with real area, only valid ids, and no class has a fixed colour', () => {
  const counts = new Float64Array(SYNTHETIC_ROAD_CLASSES.length);
  const roadMeans: number[][] = [];
  for (let seed = 0; seed < 60; seed++) {
    const { image, label } = renderSyntheticScene(seed, size);
    const sum = [0, 0, 0];
    let roadPixels = 0;
    for (let i = 0; i < label.length; i++) {
      const id = label[i]!;
      assert.ok(id < SYNTHETIC_ROAD_CLASSES.length, `scene ${seed} pixel ${i} has class id ${id}`);
      counts[id]! += 1;
      if (id === 1) {
        roadPixels++;
        for (let c = 0; c < 3; c++) sum[c]! += image[i * 3 + c]!;
      }
    }
    if (roadPixels > 0) roadMeans.push(sum.map((v) => v / roadPixels));
  }
  const total = counts.reduce((a, b) => a + b, 0);
  for (const info of SYNTHETIC_ROAD_CLASSES) {
    assert.ok(counts[info.id]! / total > 0.005, `${info.name} covers only ${counts[info.id]! / total}`);
  }
  // The mean road colour must vary widely between scenes, per channel.
  for (let c = 0; c < 3; c++) {
    const values = roadMeans.map((m) => m[c]!);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const spread = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    assert.ok(spread > 25, `road channel ${c} spread ${spread.toFixed(1)} is too small`);
  }
});

test('renders into caller buffers and at any size the demo camera asks for', () => {
  const out = { image: new Uint8Array(360 * 640 * 3), label: new Uint8Array(360 * 640) };
  const scene = renderSyntheticScene(7, { height: 360, width: 640 }, out);
  assert.equal(scene.image, out.image);
  assert.equal(scene.label, out.label);
  assert.throws(() => renderSyntheticScene(7, { height: 10, width: 10 }, out));
});

test('the source yields batches of the requested size with valid ids; validation scenes are held out', async () => {
  const source = createSyntheticRoadSource({ numTraining: 10, numValidation: 3, seed: 5, imageSize: size });
  assert.equal(source.numClasses, 6);
  assert.deepEqual(source.labelColors[1], [128, 64, 128]);
  const train = await collect(source.trainGenerator(4, { epoch: 0 }));
  assert.deepEqual(
    train.map((b) => b.size),
    [4, 4, 2],
  );
  for (const batch of train) {
    assert.equal(batch.images.length, batch.size * 128 * 384 * 3);
    assert.equal(batch.labels.length, batch.size * 128 * 384);
    assert.ok(batch.labels.every((id) => id < 6));
  }
  const valid = await collect(source.validGenerator(2));
  assert.deepEqual(
    valid.map((b) => b.size),
    [2, 1],
  );
  const trainNames = new Set(train.flatMap((b) => b.names));
  assert.equal(trainNames.size, 10);
  for (const name of valid.flatMap((b) => b.names)) assert.ok(!trainNames.has(name), `${name} is in both`);
  const seedOf = (name: string) => Number(name.replace('synthetic-', ''));
  assert.ok(valid.flatMap((b) => b.names).every((n) => seedOf(n) >= 2 ** 31));
  assert.ok([...trainNames].every((n) => seedOf(n) < 2 ** 31));
});

test('training order is shuffled per epoch and replays exactly for the same seed and epoch', async () => {
  const options = { numTraining: 12, numValidation: 0, seed: 9, imageSize: { height: 32, width: 64 } };
  const names = async (epoch: number, seed = 9) =>
    (await collect(createSyntheticRoadSource({ ...options, seed }).trainGenerator(5, { epoch }))).flatMap(
      (b) => b.names,
    );
  const epoch0 = await names(0);
  assert.deepEqual(await names(0), epoch0);
  assert.notDeepEqual(await names(1), epoch0);
  assert.deepEqual([...(await names(1))].sort(), [...epoch0].sort());
  assert.notDeepEqual(await names(0, 10), epoch0);
});

test('augmentation changes pixels but keeps labels a flipped or identical copy', async () => {
  const source = createSyntheticRoadSource({ numTraining: 6, seed: 3, imageSize: { height: 32, width: 64 } });
  const plain = await collect(source.trainGenerator(6, { epoch: 2 }));
  const augmented = await collect(source.trainGenerator(6, { epoch: 2, augment: true }));
  const [p, a] = [plain[0]!, augmented[0]!];
  assert.deepEqual(a.names, p.names);
  assert.notDeepEqual(a.images, p.images);
  const pixels = 32 * 64;
  for (let s = 0; s < 6; s++) {
    const original = p.labels.subarray(s * pixels, (s + 1) * pixels);
    const got = a.labels.subarray(s * pixels, (s + 1) * pixels);
    const flipped = new Uint8Array(pixels);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 64; x++) flipped[y * 64 + x] = original[y * 64 + 63 - x]!;
    assert.ok(
      Buffer.compare(Buffer.from(got), Buffer.from(original)) === 0 ||
        Buffer.compare(Buffer.from(got), Buffer.from(flipped)) === 0,
      `sample ${s} labels were altered beyond a flip`,
    );
  }
});

test('image sizes that FCN-8s cannot take are rejected by option name', () => {
  assert.throws(
    () => createSyntheticRoadSource({ imageSize: { height: 100, width: 384 } }),
    (error: unknown) => error instanceof ConfigError && error.key === 'imageSize.height',
  );
  assert.throws(
    () => createSyntheticRoadSource({ numTraining: -1 }),
    (error: unknown) => error instanceof ConfigError && error.key === 'numTraining',
  );
});
