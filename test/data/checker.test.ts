import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { checkData } from '../../src/data/checker.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  labelImage,
  MAGENTA,
  photo,
  RED,
  truncateFile,
  writeCityscapesTree,
  writeKittiTree,
  writePng,
} from './trees.js';

test('a valid KITTI tree with black void regions passes, with exact class frequencies', async () => {
  const dir = await makeTempDir();
  await writeKittiTree(dir, { count: 6 });
  const report = await checkData('kitti', { sourceOptions: { dataDir: dir } });
  assert.equal(report.valid, true, JSON.stringify(report.problems));
  assert.deepEqual(report.samples, { total: 6, checked: 6 });
  // 124x38 per sample: 4 void rows; road = rows 19-37 x columns 62-123.
  const road = 19 * 62;
  const voidPixels = 4 * 124;
  assert.equal(report.ignoredPixels, 6 * voidPixels);
  assert.equal(report.classFrequencies[1]!.pixels, 6 * road);
  assert.equal(report.classFrequencies[0]!.pixels, 6 * (124 * 38 - road - voidPixels));
  assert.ok(report.classFrequencies[1]!.weight! > report.classFrequencies[0]!.weight!);
});

test('each kind of broken KITTI sample is reported by file name', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 6 });
  await truncateFile(tree.images[0]!, 400);
  await writePng(
    tree.truths[1]!,
    100,
    38,
    labelImage(100, 38, () => RED),
  );
  await writePng(
    tree.truths[2]!,
    124,
    38,
    labelImage(124, 38, (x, y) => (x >= 10 && x < 20 && y >= 5 && y < 7 ? [0, 200, 0] : MAGENTA)),
  );
  await rm(tree.truths[3]!);
  await writeFile(tree.truths[4]!, 'not a png at all');
  const report = await checkData('kitti', { sourceOptions: { dataDir: dir } });
  assert.equal(report.valid, false);
  const byFile = new Map(report.problems.map((p) => [p.file, p]));
  assert.equal(byFile.get(tree.images[0]!)?.kind, 'unreadable');
  const mismatch = byFile.get(tree.truths[1]!);
  assert.equal(mismatch?.kind, 'size-mismatch');
  assert.match(mismatch!.message, /38x100 \(HxW\) but its image .*umm_000001\.png is 38x124/);
  const unknown = byFile.get(tree.truths[2]!);
  assert.equal(unknown?.kind, 'unknown-colour');
  assert.deepEqual(unknown!.values, [{ value: [0, 200, 0], count: 20, x: 10, y: 5 }]);
  const unpaired = byFile.get(tree.images[3]!);
  assert.equal(unpaired?.kind, 'unpaired');
  assert.ok(unpaired!.message.includes(tree.truths[3]!));
  assert.equal(byFile.get(tree.truths[4]!)?.kind, 'unreadable');
  assert.equal(report.problems.length, 5);
  assert.equal(report.samples.checked, 5);
});

test('an empty directory and an empty image folder fail with the folder named', async () => {
  const dir = await makeTempDir();
  const empty = await checkData('kitti', { sourceOptions: { dataDir: dir } });
  assert.equal(empty.valid, false);
  assert.equal(empty.problems[0]!.kind, 'layout');
  assert.equal(empty.problems[0]!.file, dir);
  await mkdir(join(dir, 'training', 'image_2'), { recursive: true });
  await mkdir(join(dir, 'training', 'gt_image_2'), { recursive: true });
  const noImages = await checkData('kitti', { sourceOptions: { dataDir: dir } });
  assert.equal(noImages.valid, false);
  assert.equal(noImages.problems[0]!.kind, 'empty');
  assert.equal(noImages.problems[0]!.file, join(dir, 'training', 'image_2'));
});

test('previews blend the image with the label colours at alpha, for the first N samples', async () => {
  const dir = await makeTempDir();
  await writeKittiTree(dir, { count: 5 });
  const previews = join(dir, 'previews');
  const report = await checkData('kitti', {
    sourceOptions: { dataDir: dir },
    previewsDir: previews,
    previewCount: 3,
    alpha: 0.25,
  });
  assert.equal(report.previews.length, 3);
  assert.deepEqual((await readdir(previews)).sort(), [
    '0000-um_000000.png',
    '0001-um_000003.png',
    '0002-umm_000001.png',
  ]);
  const { data } = await sharp(join(previews, '0000-um_000000.png'))
    .raw()
    .toBuffer({ resolveWithObject: true });
  const original = photo(124, 38, 0);
  const at = (x: number, y: number) => (y * 124 + x) * 3;
  // Void pixel: the photo unchanged; road pixel: 3/4 photo + 1/4 magenta.
  assert.deepEqual(
    [...data.subarray(at(3, 1), at(3, 1) + 3)],
    [...original.subarray(at(3, 1), at(3, 1) + 3)],
  );
  const o = at(100, 30);
  assert.deepEqual(
    [...data.subarray(o, o + 3)],
    [0, 1, 2].map((c) => Math.round(original[o + c]! * 0.75 + MAGENTA[c]! * 0.25)),
  );
});

test('--limit checks only the first N samples', async () => {
  const dir = await makeTempDir();
  await writeKittiTree(dir, { count: 6 });
  const report = await checkData('kitti', { sourceOptions: { dataDir: dir }, limit: 2 });
  assert.deepEqual(report.samples, { total: 6, checked: 2 });
});

test("Cityscapes in the original's layout passes with 29 classes; an unknown colour fails by name", async () => {
  const dir = await makeTempDir();
  const tree = await writeCityscapesTree(dir, { layout: 'original' });
  const good = await checkData('cityscapes', { sourceOptions: { dataDir: dir } });
  assert.equal(good.valid, true, JSON.stringify(good.problems));
  assert.equal(good.classFrequencies.length, 29);
  assert.ok(good.classFrequencies.find((c) => c.name === 'sky')!.pixels > 0);
  assert.equal(good.classFrequencies.find((c) => c.name === 'bicycle')!.weight, null);
  await writePng(
    tree.truths[2]!,
    128,
    64,
    labelImage(128, 64, (_x, y) => (y === 63 ? [12, 34, 56] : [70, 130, 180])),
  );
  const bad = await checkData('cityscapes', { sourceOptions: { dataDir: dir } });
  assert.equal(bad.valid, false);
  assert.equal(bad.problems.length, 1);
  assert.equal(bad.problems[0]!.file, tree.truths[2]);
  assert.deepEqual(bad.problems[0]!.values![0], { value: [12, 34, 56], count: 128, x: 0, y: 63 });
});

test('synthetic-road passes through the generator path with all six classes present', async () => {
  const report = await checkData('synthetic-road', {
    sourceOptions: { numTraining: 12, numValidation: 4, imageSize: { height: 64, width: 192 } },
  });
  assert.equal(report.valid, true);
  assert.deepEqual(report.samples, { total: 16, checked: 16 });
  assert.ok(report.classFrequencies.every((c) => c.pixels > 0));
});
