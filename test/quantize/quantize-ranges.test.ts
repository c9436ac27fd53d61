// Calibration on known data: the real calibrator (onnxruntime running a 1x1-convolution model with
// its input and output exposed) sees exactly the values fed, and each method's range is checked
// against what those values imply: min-max keeps the outlier, percentile and entropy clip it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrate, HISTOGRAM_BINS } from '../../src/quantize/calibrate.js';
import { planQuantization } from '../../src/quantize/layers.js';
import { OnnxModelView } from '../../src/quantize/onnx-model.js';
import {
  activationParams,
  activationRange,
  entropyThreshold,
  type TensorStats,
} from '../../src/quantize/ranges.js';
import { buildSegmentationOnnx } from '../engine/fixtures.js';

const HEIGHT = 10;
const WIDTH = 100;
const IMAGES = 3;

/**
 * Image k: channels 0 and 1 hold exponentially distributed values (mean 2, as ReLU activations
 * roughly are), channel 2 the same negated (so the tensor is signed), in an order that changes
 * with k; pixel 0 of channel 0 is an outlier at 250 (1 value in 3,000).
 */
function knownImage(k: number): Float32Array {
  const plane = HEIGHT * WIDTH;
  const values = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++)
    for (let p = 0; p < plane; p++) {
      const u = (((p * 7 + k * 13) % plane) + 0.5) / plane;
      const value = -2 * Math.log(1 - u);
      values[c * plane + p] = c === 2 ? -value : value;
    }
  values[0] = 250;
  return values;
}

/** Share of everything fed that is at most `value`. */
function shareAtMost(value: number): number {
  let count = 0;
  let total = 0;
  for (let k = 0; k < IMAGES; k++)
    for (const v of knownImage(k)) {
      total++;
      if (v <= value) count++;
    }
  return count / total;
}

async function knownStats(): Promise<Map<string, TensorStats>> {
  // Identity 1x1 convolution: the conv output equals its input.
  const view = new OnnxModelView(buildSegmentationOnnx({ height: HEIGHT, width: WIDTH }));
  const plan = planQuantization(view);
  assert.deepEqual(plan.calibrationTensors, ['image', 'scores_nchw']);
  return await calibrate(view, plan.calibrationTensors, {
    inputName: 'image',
    inputDims: [1, 3, HEIGHT, WIDTH],
    images: async function* () {
      for (let k = 0; k < IMAGES; k++) yield knownImage(k);
    },
  });
}

test('calibration sees every value fed, and each method clips the outlier as it should', async () => {
  const stats = await knownStats();
  const smallest = Math.min(...knownImage(0));
  for (const name of ['image', 'scores_nchw']) {
    const s = stats.get(name)!;
    assert.equal(s.max, 250, `${name} max`);
    assert.equal(s.min, smallest, `${name} min`);
    assert.equal(
      s.histogram.reduce((a, b) => a + b, 0),
      IMAGES * 3 * HEIGHT * WIDTH,
      'one histogram count per value per image',
    );
    assert.equal(s.histogram.length, HISTOGRAM_BINS);
  }
  const image = stats.get('image')!;
  const bin = (image.high - image.low) / HISTOGRAM_BINS;
  // A histogram quantile is exact to one bin: `fraction` of the values lie at or below it, and
  // fewer lie below the bin under it.
  const isQuantile = (value: number, fraction: number, what: string) =>
    assert.ok(
      shareAtMost(value) >= fraction - 1e-9 && shareAtMost(value - bin) < fraction,
      `${what} ${value}: ${shareAtMost(value)} of the values at or below it, ${shareAtMost(value - bin)} a bin lower`,
    );

  assert.deepEqual(activationRange(image, 'minmax', 'uint8'), { low: image.min, high: 250 });

  // 3 values in 9,000 are outliers: a 99.99 percentile keeps them in range, a 99.9 one clips them.
  assert.equal(activationRange(image, 'percentile', 'uint8', { percentile: 99.99 }).high, 250);
  const percentile = activationRange(image, 'percentile', 'uint8', { percentile: 99.9 });
  isQuantile(percentile.high, 0.999, 'percentile 99.9 high');
  isQuantile(percentile.low + bin, 0.001, 'percentile 99.9 low (upper edge of its bin)');
  assert.ok(percentile.high < 20);

  // Entropy clips the lone outlier but keeps the bulk: 99 % of the values stay inside.
  const entropy = activationRange(image, 'entropy', 'uint8');
  assert.ok(entropy.high < 100 && shareAtMost(entropy.high) >= 0.99, `entropy high ${entropy.high}`);
  assert.ok(shareAtMost(entropy.low) <= 0.01, `entropy low ${entropy.low}`);
});

test('entropy: no outliers keeps the whole range; a far outlier is clipped to the bulk', () => {
  const uniform = new Float64Array(HISTOGRAM_BINS).fill(10);
  assert.equal(entropyThreshold(uniform, 8, 255), 8);
  // A decaying bulk over the first 512 bins and one count in the last bin.
  const tailed = new Float64Array(HISTOGRAM_BINS);
  for (let i = 0; i < 512; i++) tailed[i] = Math.round(100000 * Math.exp(-i / 64));
  tailed[HISTOGRAM_BINS - 1] = 1;
  const threshold = entropyThreshold(tailed, 2048, 255);
  assert.ok(
    threshold >= 255 && threshold <= 600,
    `threshold ${threshold} should clip the lone count at 2048`,
  );
});

test('8-bit parameters: uint8 asymmetric with an exact zero, int8 symmetric with zero point 0', () => {
  const unsigned = activationParams({ low: 0, high: 2.55 }, 'uint8');
  assert.ok(Math.abs(unsigned.scale - 0.01) < 1e-12);
  assert.equal(unsigned.zeroPoint, 0);
  const signed = activationParams({ low: -1, high: 3 }, 'uint8');
  assert.ok(Math.abs(signed.scale - 4 / 255) < 1e-12);
  assert.equal(signed.zeroPoint, 64);
  // A range that excludes zero is widened to include it (zero padding must be exact).
  assert.equal(activationParams({ low: 2, high: 5.1 }, 'uint8').zeroPoint, 0);
  assert.deepEqual(activationParams({ low: -2, high: 1.27 }, 'int8'), { scale: 2 / 127, zeroPoint: 0 });
  assert.deepEqual(activationParams({ low: 0, high: 0 }, 'uint8'), { scale: 1, zeroPoint: 0 });
});
