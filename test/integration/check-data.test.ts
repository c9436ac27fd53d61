import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { labelImage, RED, writeCityscapesTree, writeKittiTree, writePng } from '../data/trees.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

test('edgeseg check-data passes a valid KITTI tree (black void regions included) and writes previews', async () => {
  const dir = await makeTempDir();
  await writeKittiTree(dir, { count: 4 });
  const previews = join(dir, 'previews');
  const result = await runCli([
    'check-data',
    '--data-source',
    'kitti',
    '--data-dir',
    dir,
    '--previews',
    previews,
  ]);
  assert.equal(result.code, 0, result.stderr + result.stdout);
  assert.match(result.stdout, /Checked 4 samples of data source kitti/);
  assert.match(result.stdout, /road\s+\d+\.\d+ %/);
  assert.match(result.stdout, /OK: every label pixel maps to exactly one class/);
  assert.match(result.stdout, /Wrote 4 blended previews/);
});

test('edgeseg check-data fails a broken KITTI tree, naming the file and the colour', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 3 });
  await writePng(
    tree.truths[1]!,
    124,
    38,
    labelImage(124, 38, (x) => (x === 7 ? [0, 128, 255] : RED)),
  );
  const result = await runCli(['check-data', '--data-source', 'kitti', '--data-dir', dir]);
  assert.equal(result.code, 1);
  assert.ok(result.stdout.includes(tree.truths[1]!), result.stdout);
  assert.match(result.stdout, /colour \(0, 128, 255\) x 38 px, first at x=7 y=0/);
});

test('edgeseg check-data --json reports a Cityscapes tree with a missing ground truth', async () => {
  const dir = await makeTempDir();
  const tree = await writeCityscapesTree(dir, { layout: 'original', splits: ['val'], perCity: 2 });
  const { rm } = await import('node:fs/promises');
  await rm(tree.truths[0]!);
  const result = await runCli(['check-data', '--data-source', 'cityscapes', '--data-dir', dir, '--json']);
  assert.equal(result.code, 1, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.valid, false);
  assert.equal(report.classFrequencies.length, 29);
  assert.equal(report.problems[0].kind, 'unpaired');
  assert.equal(report.problems[0].file, tree.images[0]);
});

test('edgeseg check-data on an empty directory exits non-zero naming it', async () => {
  const dir = await makeTempDir();
  const result = await runCli(['check-data', '--data-source', 'kitti', '--data-dir', dir]);
  assert.equal(result.code, 1);
  assert.ok(result.stdout.includes(dir), result.stdout);
  assert.match(result.stdout, /contains no KITTI Road image_2 folder/);
});
