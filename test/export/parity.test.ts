// For the same weights, logits from tfjs and from onnxruntime agree: max |diff| <= 1e-4 × the
// logits' range, argmax equal on >= 99.9% of pixels; both heads, two input sizes.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import ort from 'onnxruntime-node';
import { exportModel } from '../../src/export/export.js';
import { CAFFE_VGG_NORMALIZATION, type FcnConfig } from '../../src/model/architecture.js';
import { createFcn8s, initialWeights } from '../../src/model/fcn8s.js';
import { readManifest } from '../../src/model/manifest.js';
import { fillNormal, mulberry32 } from '../../src/model/random.js';
import { initTf, tf } from '../../src/model/tf.js';
import { sha256File } from '../../src/system/fs.js';
import { makeTempDir } from '../helpers/tmp.js';

before(async () => {
  await initTf('auto');
});

/** Random weights everywhere (scoring layers too, which start at zero), so every path carries signal. */
function randomWeights(config: FcnConfig, seed: number) {
  const random = mulberry32(seed);
  const weights = initialWeights(config, seed);
  for (const [name, entry] of weights) {
    if (name.startsWith('score') || name.startsWith('upscore')) fillNormal(entry.values, 0.3, random);
    if (name.endsWith('/bias')) fillNormal(entry.values, 0.05, random);
  }
  return weights;
}

function randomImage(height: number, width: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: height * width * 3 }, () => Math.floor(random() * 256));
}

function nhwcToNchw(values: Float32Array, height: number, width: number, channels: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let c = 0; c < channels; c++)
    for (let p = 0; p < height * width; p++) out[c * height * width + p] = values[p * channels + c]!;
  return out;
}

const cases: Array<{ head: 'fcn8s' | 'original'; height: number; width: number }> = [
  { head: 'fcn8s', height: 64, width: 96 },
  { head: 'fcn8s', height: 160, width: 224 },
  { head: 'original', height: 64, width: 96 },
  { head: 'original', height: 160, width: 224 },
];

for (const { head, height, width } of cases) {
  test(`${head} head at ${height}x${width}: tfjs and onnxruntime logits agree`, async (t) => {
    const config: FcnConfig = {
      numClasses: 4,
      height,
      width,
      widthMultiplier: 1 / 16,
      head,
      inputChannelOrder: 'BGR',
      normalization: CAFFE_VGG_NORMALIZATION,
    };
    const model = createFcn8s(config, { weights: randomWeights(config, 42) });
    const dir = join(await makeTempDir(), 'model');
    const manifest = await exportModel(model, dir);
    assert.equal(manifest.files.onnxSha256, await sha256File(join(dir, 'model.onnx')));
    assert.deepEqual(await readManifest(dir), manifest);

    const image = randomImage(height, width, 7);
    const expected = tf.tidy(
      () => model.forward(tf.tensor4d(image, [1, height, width, 3])).dataSync() as Float32Array,
    );
    const expectedNchw = nhwcToNchw(expected, height, width, 4);

    const session = await ort.InferenceSession.create(await readFile(join(dir, 'model.onnx')), {
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
    });
    const feeds = {
      image: new ort.Tensor('float32', nhwcToNchw(image, height, width, 3), [1, 3, height, width]),
    };
    const output = (await session.run(feeds)).logits!;
    assert.deepEqual(output.dims, [1, 4, height, width]);
    const actual = output.data as Float32Array;

    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let maxDiff = 0;
    for (let i = 0; i < actual.length; i++) {
      min = Math.min(min, expectedNchw[i]!);
      max = Math.max(max, expectedNchw[i]!);
      maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expectedNchw[i]!));
    }
    const range = max - min;
    assert.ok(range > 1, `logits range ${range} is too small for a meaningful comparison`);
    assert.ok(maxDiff <= 1e-4 * range, `max |diff| ${maxDiff} > 1e-4 × range ${range}`);

    let agree = 0;
    const pixels = height * width;
    for (let p = 0; p < pixels; p++) {
      let bestA = 0;
      let bestB = 0;
      for (let c = 1; c < 4; c++) {
        if (actual[c * pixels + p]! > actual[bestA * pixels + p]!) bestA = c;
        if (expectedNchw[c * pixels + p]! > expectedNchw[bestB * pixels + p]!) bestB = c;
      }
      if (bestA === bestB) agree++;
    }
    t.diagnostic(
      `max |diff| ${maxDiff.toExponential(2)}, logits range ${range.toFixed(2)} (ratio ${(maxDiff / range).toExponential(2)}), argmax agreement ${((100 * agree) / pixels).toFixed(3)}%`,
    );
    assert.ok(agree / pixels >= 0.999, `argmax agrees on ${((100 * agree) / pixels).toFixed(3)}% of pixels`);
    await session.release();
    model.dispose();
  });
}
