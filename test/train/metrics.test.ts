import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IGNORE_LABEL } from '../../src/data/types.js';
import { ConfusionMatrix, MaxFAccumulator } from '../../src/train/metrics.js';

test('IoU, mIoU and pixel accuracy on a hand-computed 3-class example', () => {
  const truth = Uint8Array.from([0, 0, 0, 1, 1, 2, 2, 2, IGNORE_LABEL]);
  const predicted = Uint8Array.from([0, 0, 1, 1, 1, 2, 2, 0, 2]);
  const matrix = new ConfusionMatrix(3);
  matrix.add(predicted, truth);
  // class 0: TP 2, FP 1 (truth 2 -> 0), FN 1 (-> 1): 2/4; class 1: TP 2, FP 1, FN 0: 2/3; class 2: TP 2, FN 1: 2/3
  const iou = matrix.perClassIoU();
  assert.deepEqual(
    iou.map((v) => v.toFixed(6)),
    [(2 / 4).toFixed(6), (2 / 3).toFixed(6), (2 / 3).toFixed(6)],
  );
  assert.equal(matrix.pixels, 8);
  assert.equal(matrix.pixelAccuracy(), 6 / 8);
  assert.ok(Math.abs(matrix.meanIoU() - (0.5 + 2 / 3 + 2 / 3) / 3) < 1e-12);
});

test('classes flagged ignore are excluded and classes never seen do not count in mIoU', () => {
  const matrix = new ConfusionMatrix(4, [3]);
  matrix.add(Uint8Array.from([0, 1, 1, 0]), Uint8Array.from([0, 1, 3, 3]));
  const iou = matrix.perClassIoU();
  assert.equal(iou[0], 1);
  assert.equal(iou[1], 1);
  assert.ok(Number.isNaN(iou[2]!));
  assert.ok(Number.isNaN(iou[3]!));
  assert.equal(matrix.meanIoU(), 1);
});

test('out-of-range class ids are rejected with the pixel index', () => {
  const matrix = new ConfusionMatrix(2);
  assert.throws(() => matrix.add(Uint8Array.from([0, 5]), Uint8Array.from([0, 1])), /pixel 1/);
});

test('MaxF finds the threshold that separates the classes perfectly; ignored pixels count as nothing', () => {
  const acc = new MaxFAccumulator(100);
  // The ignored pixels score above every positive and below every negative: counted as negatives
  // the top one costs precision at every threshold, counted as positives the bottom one costs recall.
  acc.addScores(
    Float32Array.from([0.9, 0.8, 0.3, 0.2, 0.95, 0.1, 0.97]),
    Uint8Array.from([1, 1, 0, 0, IGNORE_LABEL, IGNORE_LABEL, 7]),
  );
  const { maxF, threshold, precision, recall } = acc.maxF();
  assert.deepEqual({ maxF, precision, recall }, { maxF: 1, precision: 1, recall: 1 });
  assert.ok(threshold > 0.3 && threshold <= 0.8, `threshold ${threshold}`);
});
