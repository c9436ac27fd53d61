import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { IGNORE_LABEL } from '../../src/data/types.js';
import type { ClassInfo } from '../../src/model/manifest.js';
import { tf } from '../../src/model/tf.js';
import { readClassWeights, uniformClassWeights } from '../../src/train/class-weights.js';
import { initTrainingTf } from '../../src/train/kernels/tf-training.js';
import { segmentationLoss } from '../../src/train/loss.js';
import { makeTempDir } from '../helpers/tmp.js';

const classes: ClassInfo[] = [
  { id: 0, name: 'background', color: [0, 0, 0], ignore: false },
  { id: 1, name: 'road', color: [255, 0, 255], ignore: false },
  { id: 2, name: 'void', color: [1, 1, 1], ignore: true },
];

test('cross-entropy is exact per pixel and skips IGNORE_LABEL pixels and ignored classes', async () => {
  await initTrainingTf('cpu');
  // 1x1x4 pixels; logits chosen so that softmax is easy to write down.
  const logits = tf.tensor4d([0, Math.log(3), 0, 0, 0, 0, 0, 0, 0, 5, 5, 5], [1, 1, 4, 3]);
  const labels = tf.tensor3d([1, 0, IGNORE_LABEL, 2], [1, 1, 4], 'int32');
  const loss = segmentationLoss(logits, labels, tf.tensor1d(uniformClassWeights(classes))).dataSync()[0]!;
  // pixel 0: p(road) = 3/5; pixel 1: p(background) = 1/3; pixels 2 (void label) and 3 (ignored class) drop out.
  const expected = (-Math.log(3 / 5) - Math.log(1 / 3)) / 2;
  assert.ok(Math.abs(loss - expected) < 1e-5, `loss ${loss}, expected ${expected}`);

  const weighted = segmentationLoss(logits, labels, tf.tensor1d([1, 3, 0])).dataSync()[0]!;
  const expectedWeighted = (3 * -Math.log(3 / 5) - Math.log(1 / 3)) / 4;
  assert.ok(Math.abs(weighted - expectedWeighted) < 1e-5, `weighted loss ${weighted}`);
});

test('class weights come from check-data JSON by median-frequency balancing; bad files name the path', async () => {
  const dir = await makeTempDir();
  const checkDataJson = join(dir, 'check.json');
  await writeFile(
    checkDataJson,
    JSON.stringify({
      dataSource: 'kitti',
      classFrequencies: [
        { id: 0, name: 'background', pixels: 750, fraction: 0.75, weight: 0.667 },
        { id: 1, name: 'road', pixels: 250, fraction: 0.25, weight: 2 },
        { id: 2, name: 'void', pixels: 0, fraction: 0, weight: null },
      ],
    }),
  );
  const weights = await readClassWeights(checkDataJson, classes);
  // median of the present fractions (0.25, 0.75) is 0.5.
  assert.deepEqual(
    Array.from(weights).map((w) => Number(w.toFixed(4))),
    [0.6667, 2, 0],
  );

  const explicit = join(dir, 'weights.json');
  await writeFile(explicit, JSON.stringify({ weights: [1, 4, 9] }));
  assert.deepEqual(Array.from(await readClassWeights(explicit, classes)), [1, 4, 0]);

  const wrong = join(dir, 'wrong.json');
  await writeFile(wrong, JSON.stringify({ weights: [1, 2] }));
  await assert.rejects(readClassWeights(wrong, classes), (error: Error) => {
    assert.match(error.message, /wrong\.json/);
    assert.match(error.message, /2 weights but the data source has 3 classes/);
    return true;
  });
});
