// VGG16 import: a torchvision-style ONNX file's convolutions and fc6/fc7 become FCN's encoder, so
// the FCN's conv7 at the centre of a 224x224 image equals VGG16's fc7 output computed by onnxruntime.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import ort from 'onnxruntime-node';
import {
  CAFFE_VGG_NORMALIZATION,
  type FcnConfig,
  TORCHVISION_NORMALIZATION,
} from '../../src/model/architecture.js';
import { loadModel } from '../../src/model/checkpoint.js';
import { createFcn8s, type FcnModel } from '../../src/model/fcn8s.js';
import { initModel } from '../../src/model/init.js';
import { mulberry32 } from '../../src/model/random.js';
import { initTf, tf } from '../../src/model/tf.js';
import { importVgg16Onnx } from '../../src/model/vgg16-import.js';
import { makeTempDir } from '../helpers/tmp.js';
import { writeVgg16Onnx } from './vgg16-fixture.js';

const WIDTH = 1 / 16;
const config: FcnConfig = {
  numClasses: 2,
  height: 224,
  width: 224,
  widthMultiplier: WIDTH,
  head: 'fcn8s',
  inputChannelOrder: 'RGB',
  normalization: TORCHVISION_NORMALIZATION,
};

before(async () => {
  await initTf('auto');
});

/** VGG16's fc7 from onnxruntime vs the FCN's conv7 at the centre of the same 224x224 picture. */
async function assertConv7EqualsFc7(model: FcnModel, vggPath: string): Promise<void> {
  // The same picture: raw RGB 0-255 for edgeseg, torchvision-normalised NCHW for the VGG graph.
  const random = mulberry32(9);
  const pixels = 224 * 224;
  const raw = Float32Array.from({ length: pixels * 3 }, () => Math.floor(random() * 256));
  const normalised = new Float32Array(pixels * 3);
  const { mean, std } = TORCHVISION_NORMALIZATION;
  for (let p = 0; p < pixels; p++)
    for (let c = 0; c < 3; c++) normalised[c * pixels + p] = (raw[p * 3 + c]! / 255 - mean[c]!) / std[c]!;
  const session = await ort.InferenceSession.create(vggPath);
  const fc7 = (await session.run({ input: new ort.Tensor('float32', normalised, [1, 3, 224, 224]) })).fc7!
    .data as Float32Array;
  await session.release();

  const channels = fc7.length;
  const conv7 = tf.tidy(() => {
    const { conv7: features } = model.encode(tf.tensor4d(raw, [1, 224, 224, 3]));
    assert.deepEqual(features.shape, [1, 7, 7, channels]);
    return tf.slice(features, [0, 3, 3, 0], [1, 1, 1, channels]).dataSync() as Float32Array;
  });
  const scale = Math.max(...fc7.map(Math.abs));
  assert.ok(scale > 0.1, `fc7 is nearly zero (${scale}): the comparison would be meaningless`);
  let maxDiff = 0;
  for (let i = 0; i < channels; i++) maxDiff = Math.max(maxDiff, Math.abs(conv7[i]! - fc7[i]!));
  assert.ok(maxDiff <= 1e-4 * scale, `max |conv7 - fc7| = ${maxDiff} (fc7 max ${scale})`);
}

test('model init --vgg16: conv7 at the image centre equals VGG16 fc7 from onnxruntime (fc6 flattening, all 13 convs)', async () => {
  const dir = await makeTempDir();
  const vggPath = join(dir, 'vgg16.onnx');
  await writeVgg16Onnx(vggPath, { widthMultiplier: WIDTH, seed: 3 });
  const checkpoint = join(dir, 'ckpt');
  const result = await initModel({
    numClasses: 2,
    size: { height: 224, width: 224 },
    widthMultiplier: WIDTH,
    head: 'original',
    seed: 1,
    outDir: checkpoint,
    encoder: 'vgg16',
    imagenet: vggPath,
  });
  assert.equal(result.config.inputChannelOrder, 'RGB');
  assert.deepEqual(result.config.normalization, TORCHVISION_NORMALIZATION);
  const model = await loadModel(checkpoint);
  assert.equal(model.config.normalization.source, 'torchvision');

  await assertConv7EqualsFc7(model, vggPath);
  model.dispose();
});

test('MatMul+Add dense layers with float_data tensors import correctly too', async () => {
  const dir = await makeTempDir();
  const vggPath = join(dir, 'matmul.onnx');
  await writeVgg16Onnx(vggPath, { widthMultiplier: WIDTH, seed: 5, dense: 'matmul', floatData: true });
  const imported = await importVgg16Onnx(vggPath, config);
  assert.equal(imported.weights.size, 30);
  const model = createFcn8s(config, { weights: imported.weights });
  await assertConv7EqualsFc7(model, vggPath);
  model.dispose();
});

test('weights in an external data file import to the same values as embedded ones', async () => {
  const dir = await makeTempDir();
  await writeVgg16Onnx(join(dir, 'embedded.onnx'), { widthMultiplier: WIDTH, seed: 8 });
  await writeVgg16Onnx(join(dir, 'external.onnx'), { widthMultiplier: WIDTH, seed: 8, externalData: true });
  const embedded = await importVgg16Onnx(join(dir, 'embedded.onnx'), config);
  const external = await importVgg16Onnx(join(dir, 'external.onnx'), config);
  assert.equal(external.weights.size, 30);
  for (const [name, entry] of embedded.weights) assert.deepEqual(external.weights.get(name), entry, name);
});

test('a VGG16 file for another width is refused, naming the first mismatching layer and both shapes', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'vgg16.onnx');
  await writeVgg16Onnx(path, { widthMultiplier: WIDTH, seed: 1 });
  await assert.rejects(
    importVgg16Onnx(path, { ...config, widthMultiplier: 1 / 8 }),
    (error: Error) =>
      error.message.includes(path) &&
      /layer conv1_1 .*weight is 4x3x3x3, expected 8x3x3x3/.test(error.message),
  );
  const badFc6 = join(dir, 'bad-fc6.onnx');
  await writeVgg16Onnx(badFc6, { widthMultiplier: WIDTH, seed: 1, fc6Inputs: 32 * 36 });
  await assert.rejects(importVgg16Onnx(badFc6, config), /layer fc6 .*weight is 256x1152, expected 256x1568/);
  await assert.rejects(
    importVgg16Onnx(join(dir, 'missing.onnx'), { ...config, normalization: CAFFE_VGG_NORMALIZATION }),
    /missing\.onnx: cannot read/,
  );
});
