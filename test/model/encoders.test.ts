// The light encoders' shapes: the heads read stride-8, -16 and -32 features with torchvision's channel
// counts, and both heads give logits at the input's size, in tfjs and in the exported ONNX graph.

import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import ort from 'onnxruntime-node';
import { buildFcnOnnx } from '../../src/export/fcn-onnx.js';
import { type FcnConfig, fcnGraph, TORCHVISION_NORMALIZATION } from '../../src/model/architecture.js';
import { createFcn8s, initialWeights } from '../../src/model/fcn8s.js';
import { initTf, tf } from '../../src/model/tf.js';

before(async () => {
  await initTf('auto');
});

function config(
  encoder: 'resnet18' | 'mobilenetv3',
  head: 'fcn8s' | 'original',
  widthMultiplier = 1,
): FcnConfig {
  return {
    encoder,
    numClasses: 5,
    height: 96,
    width: 160,
    widthMultiplier,
    head,
    inputChannelOrder: 'RGB',
    normalization: TORCHVISION_NORMALIZATION,
  };
}

test('the heads read torchvision’s stride-8/16/32 outputs: ResNet18 layer2..4, MobileNetV3 features.6/12/16', () => {
  const resnet = fcnGraph(config('resnet18', 'fcn8s')).features;
  assert.deepEqual(resnet, {
    pool3: { tensor: 'layer2.1', channels: 128, stride: 8 },
    pool4: { tensor: 'layer3.1', channels: 256, stride: 16 },
    conv7: { tensor: 'layer4.1', channels: 512, stride: 32 },
  });
  const mobilenet = fcnGraph(config('mobilenetv3', 'fcn8s')).features;
  assert.deepEqual(mobilenet, {
    pool3: { tensor: 'features.6', channels: 40, stride: 8 },
    pool4: { tensor: 'features.12', channels: 112, stride: 16 },
    conv7: { tensor: 'features.16.0', channels: 960, stride: 32 },
  });
  // torchvision's width_mult rounds to multiples of 8: 0.5 gives 24, 56 and 480 channels.
  const half = fcnGraph(config('mobilenetv3', 'fcn8s', 0.5)).features;
  assert.deepEqual([half.pool3.channels, half.pool4.channels, half.conv7.channels], [24, 56, 480]);
});

for (const encoder of ['resnet18', 'mobilenetv3'] as const)
  for (const head of ['fcn8s', 'original'] as const)
    test(`${encoder}, ${head} head: features at 1/8, 1/16, 1/32 and logits at 96x160 in tfjs and ONNX`, async () => {
      const c = config(encoder, head, 0.25);
      const { features } = fcnGraph(c);
      const model = createFcn8s(c);
      const images = tf.zeros([2, 96, 160, 3]) as tf.Tensor4D;
      const encoded = model.encode(images);
      for (const name of ['pool3', 'pool4', 'conv7'] as const) {
        const { stride, channels } = features[name];
        assert.deepEqual(encoded[name].shape, [2, 96 / stride, 160 / stride, channels], name);
      }
      const logits = model.forward(images);
      assert.deepEqual(logits.shape, [2, 96, 160, 5]);
      tf.dispose([images, logits, ...Object.values(encoded)]);
      model.dispose();

      const weights = initialWeights(c);
      const bytes = await buildFcnOnnx(c, async (name) => weights.get(name)!.values, 'shapes');
      const session = await ort.InferenceSession.create(bytes);
      const input = new ort.Tensor('float32', new Float32Array(3 * 96 * 160), [1, 3, 96, 160]);
      const output = (await session.run({ image: input })).logits!;
      assert.deepEqual(output.dims, [1, 5, 96, 160]);
      await session.release();
    });
