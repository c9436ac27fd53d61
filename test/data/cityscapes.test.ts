import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDataSource } from '../../src/data/registry.js';
import { IGNORE_LABEL, type SegmentationBatch } from '../../src/data/types.js';
import { FileError } from '../../src/system/errors.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  CITYSCAPES_BANDS,
  collect,
  labelImage,
  ORIGINAL_29,
  writeCityscapesTree,
  writePng,
} from './trees.js';

/** Class id of each band (sampled at the band's middle row) in the first sample of a batch. */
function bandIds(batch: SegmentationBatch): number[] {
  const rows = CITYSCAPES_BANDS.length;
  return CITYSCAPES_BANDS.map((_, band) => {
    const y = Math.floor(((band + 0.5) * batch.height) / rows);
    return batch.labels[y * batch.width + 7]!;
  });
}

test("the original's layout loads with the 29-class table at 256x512", async () => {
  const dir = await makeTempDir();
  await writeCityscapesTree(dir, { layout: 'original' });
  const source = await createDataSource('cityscapes', { dataDir: dir });
  assert.deepEqual(source.imageSize, { height: 256, width: 512 });
  assert.equal(source.numClasses, 29);
  assert.deepEqual(
    source.classes.map((c) => c.name),
    [...ORIGINAL_29],
  );
  assert.deepEqual(source.classes[3]!.color, [128, 64, 128]);
  assert.equal(source.numTraining, 4);
  assert.equal(source.numValidation, 2);
  const [batch] = await collect(source.validGenerator(2));
  assert.equal(batch!.size, 2);
  // sky, building, unlabeled, car, road, dynamic in the 29-class order
  assert.deepEqual(bandIds(batch!), [18, 7, 0, 21, 3, 1]);
  assert.ok(batch!.names.every((n) => n.startsWith('frankfurt_')));
});

test('official layout with labelIds and the official 19 classes: non-training labels are ignored', async () => {
  const dir = await makeTempDir();
  await writeCityscapesTree(dir, { format: 'labelIds' });
  const source = await createDataSource('cityscapes', {
    dataDir: dir,
    classTable: 'official19',
    imageSize: { height: 64, width: 128 },
  });
  assert.equal(source.numClasses, 19);
  const [batch] = await collect(source.validGenerator(1));
  assert.deepEqual(bandIds(batch!), [10, 2, IGNORE_LABEL, 13, 0, IGNORE_LABEL]);
});

test('colour and labelIds ground truth decode to the same 29-class ids', async () => {
  const [colourDir, idsDir] = [await makeTempDir(), await makeTempDir()];
  await writeCityscapesTree(colourDir, { splits: ['val'], perCity: 1 });
  await writeCityscapesTree(idsDir, { splits: ['val'], perCity: 1, format: 'labelIds' });
  const size = { height: 64, width: 128 };
  const fromColour = await collect(
    (await createDataSource('cityscapes', { dataDir: colourDir, imageSize: size })).validGenerator(1),
  );
  const fromIds = await collect(
    (await createDataSource('cityscapes', { dataDir: idsDir, imageSize: size })).validGenerator(1),
  );
  assert.deepEqual(fromColour[0]!.labels, fromIds[0]!.labels);
});

test('without a val split, a seeded fraction of train is held out', async () => {
  const dir = await makeTempDir();
  await writeCityscapesTree(dir, { splits: ['train'], perCity: 5 });
  const source = await createDataSource('cityscapes', { dataDir: dir, validationFraction: 0.2 });
  assert.equal(source.numTraining, 8);
  assert.equal(source.numValidation, 2);
});

test('unknown colours and unpaired files are errors naming the file', async () => {
  const dir = await makeTempDir();
  const tree = await writeCityscapesTree(dir, { splits: ['val'], perCity: 2 });
  await writePng(
    tree.truths[0]!,
    128,
    64,
    labelImage(128, 64, (x) => (x < 3 ? [1, 2, 3] : [70, 130, 180])),
  );
  const source = await createDataSource('cityscapes', { dataDir: dir });
  await assert.rejects(collect(source.validGenerator(2)), (error: unknown) => {
    assert.ok(error instanceof FileError);
    assert.equal(error.path, tree.truths[0]);
    assert.match(error.message, /colour \(1, 2, 3\) at x=0 y=0/);
    return true;
  });
  const { rm } = await import('node:fs/promises');
  await rm(tree.images[1]!);
  await assert.rejects(createDataSource('cityscapes', { dataDir: dir }), (error: unknown) => {
    assert.ok(error instanceof FileError);
    assert.ok(error.message.includes(tree.truths[1]!), error.message);
    assert.match(error.message, /ground truth without an image/);
    return true;
  });
});
