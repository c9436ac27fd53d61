// `edgeseg data export` writes trees that the KITTI and Cityscapes loaders and check-data accept,
// with labels that are the synthetic scene's (road where the scene has road).

import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { checkData } from '../../src/data/checker.js';
import { createDataSource } from '../../src/data/registry.js';
import { renderSyntheticScene, trainingSceneSeed } from '../../src/data/synthetic-road.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

test('data export --format kitti: the KITTI loader and check-data accept it; gt road is the scene road', async () => {
  const dir = await makeTempDir();
  const result = await runCli([
    'data',
    'export',
    '--format',
    'kitti',
    '--out',
    dir,
    '--count',
    '4',
    '--size',
    '64x192',
  ]);
  assert.equal(result.code, 0, result.stderr);
  const dataDir = join(dir, 'data_road');
  assert.match(result.stdout, new RegExp(`--data-source kitti --data-dir ${dataDir}`));
  const source = await createDataSource('kitti', { dataDir, validationFraction: 0.25 });
  assert.equal(source.numTraining + source.numValidation, 4);
  const report = await checkData('kitti', { sourceOptions: { dataDir } });
  assert.equal(report.valid, true, JSON.stringify(report.problems ?? report, null, 1).slice(0, 2000));
  // Scene 0's road pixels are exactly the magenta pixels of um_road_000000.png.
  const scene = renderSyntheticScene(trainingSceneSeed(0, 0), { height: 64, width: 192 });
  const truth = await sharp(join(dataDir, 'training', 'gt_image_2', 'um_road_000000.png'))
    .raw()
    .toBuffer();
  let mismatches = 0;
  for (let i = 0; i < scene.label.length; i++) {
    const magenta = truth[i * 3] === 255 && truth[i * 3 + 1] === 0 && truth[i * 3 + 2] === 255;
    if (magenta !== (scene.label[i] === 1)) mismatches++;
  }
  assert.equal(mismatches, 0);
});

test('data export --format cityscapes: train and val splits the Cityscapes loader and check-data accept', async () => {
  const dir = await makeTempDir();
  const result = await runCli([
    'data',
    'export',
    '--format',
    'cityscapes',
    '--out',
    dir,
    '--count',
    '5',
    '--size',
    '64x128',
  ]);
  assert.equal(result.code, 0, result.stderr);
  // The official split folders, every fifth scene in val: the loader then holds out val, not a fraction.
  assert.deepEqual(await readdir(join(dir, 'leftImg8bit', 'val', 'frankfurt')), [
    'frankfurt_000004_000019_leftImg8bit.png',
  ]);
  for (const labelFormat of ['color', 'labelIds']) {
    const source = await createDataSource('cityscapes', { dataDir: dir, labelFormat });
    assert.deepEqual([source.numTraining, source.numValidation], [4, 1], labelFormat);
    const report = await checkData('cityscapes', { sourceOptions: { dataDir: dir, labelFormat } });
    assert.equal(report.valid, true, `${labelFormat}: ${JSON.stringify(report).slice(0, 2000)}`);
  }
});
