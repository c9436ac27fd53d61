import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createDataSource } from '../../src/data/registry.js';
import { IGNORE_LABEL } from '../../src/data/types.js';
import { FileError } from '../../src/system/errors.js';
import { makeTempDir } from '../helpers/tmp.js';
import { collect, labelImage, MAGENTA, RED, writeKittiTree, writePng } from './trees.js';

test('loads a KITTI tree at 160x576 with a seeded 10% validation split; black void is ignored', async () => {
  const dir = await makeTempDir();
  await writeKittiTree(dir, { count: 20 });
  const source = await createDataSource('kitti', { dataDir: dir });
  assert.deepEqual(source.imageSize, { height: 160, width: 576 });
  assert.deepEqual(
    source.classes.map((c) => c.name),
    ['background', 'road'],
  );
  assert.equal(source.numTraining, 18);
  assert.equal(source.numValidation, 2);
  const batches = await collect(source.trainGenerator(8));
  assert.deepEqual(
    batches.map((b) => b.size),
    [8, 8, 2],
  );
  const labels = batches[0]!.labels.subarray(0, 160 * 576);
  // Native 38 rows: rows 0-3 black (void); nearest-neighbour keeps them whole at 160 rows.
  assert.equal(labels[0], IGNORE_LABEL);
  assert.equal(labels[575], IGNORE_LABEL);
  assert.equal(labels[20 * 576], 0);
  assert.equal(labels[159 * 576 + 575], 1);
  assert.ok(batches.every((b) => b.labels.every((v) => v === 0 || v === 1 || v === IGNORE_LABEL)));
  const validNames = (await collect(source.validGenerator(10))).flatMap((b) => b.names);
  assert.equal(validNames.length, 2);
  // The split does not depend on the shuffle seed.
  const reseeded = await createDataSource('kitti', { dataDir: dir, seed: 77 });
  assert.deepEqual(
    (await collect(reseeded.validGenerator(10))).flatMap((b) => b.names),
    validNames,
  );
  assert.notDeepEqual(
    (await collect(reseeded.trainGenerator(18))).flatMap((b) => b.names),
    batches.flatMap((b) => b.names),
  );
});

test('kittiVoid "background" reproduces the original: black pixels become background', async () => {
  const dir = await makeTempDir();
  await writeKittiTree(dir, { count: 3 });
  const source = await createDataSource('kitti', {
    dataDir: dir,
    kittiVoid: 'background',
    validationFraction: 0,
  });
  const [batch] = await collect(source.trainGenerator(3));
  assert.ok(batch!.labels.every((v) => v === 0 || v === 1));
  assert.equal(batch!.labels[0], 0);
});

test('accepts data_road, its parent or data_road/training as the data directory', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 3 });
  for (const dataDir of [dir, tree.dataRoad, tree.training]) {
    const source = await createDataSource('kitti', { dataDir, validationFraction: 0 });
    assert.equal(source.numTraining, 3, dataDir);
  }
});

test('labels are resized nearest-neighbour: class boundaries stay sharp, no mixed values', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 1, width: 64, height: 32, voidRows: 0 });
  // Left half red, right half magenta: at 64 -> 576 columns the switch must land exactly mid-image.
  await writePng(
    tree.truths[0]!,
    64,
    32,
    labelImage(64, 32, (x) => (x < 32 ? RED : MAGENTA)),
  );
  const source = await createDataSource('kitti', { dataDir: dir, validationFraction: 0 });
  const [batch] = await collect(source.trainGenerator(1));
  for (let y = 0; y < 160; y++) {
    for (let x = 0; x < 576; x++) assert.equal(batch!.labels[y * 576 + x], x < 288 ? 0 : 1, `x=${x} y=${y}`);
  }
  // The image is resized too (bilinear), to the same size.
  assert.equal(batch!.images.length, 160 * 576 * 3);
});

test('a missing ground-truth file fails with both file names', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 4 });
  await rm(tree.truths[2]!);
  await assert.rejects(createDataSource('kitti', { dataDir: dir }), (error: unknown) => {
    assert.ok(error instanceof FileError);
    assert.match(error.message, /uu_000002\.png: has no ground truth/);
    assert.ok(error.message.includes(tree.truths[2]!), error.message);
    return true;
  });
});

test('an unknown colour fails the generator naming the file and the colour', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 2 });
  await writePng(
    tree.truths[1]!,
    124,
    38,
    labelImage(124, 38, (x, y) => (x === 5 && y === 9 ? [0, 255, 0] : RED)),
  );
  const source = await createDataSource('kitti', { dataDir: dir, validationFraction: 0 });
  await assert.rejects(collect(source.trainGenerator(2)), (error: unknown) => {
    assert.ok(error instanceof FileError);
    assert.equal(error.path, tree.truths[1]);
    assert.match(error.message, /colour \(0, 255, 0\) at x=5 y=9/);
    return true;
  });
});

test('a folder without KITTI images is reported by path', async () => {
  const dir = await makeTempDir();
  await assert.rejects(
    createDataSource('kitti', { dataDir: join(dir, 'nothing') }),
    /contains no KITTI Road image_2/,
  );
  await assert.rejects(createDataSource('kitti', {}), /needs a data directory/);
});
