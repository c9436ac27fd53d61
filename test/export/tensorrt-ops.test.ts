// TensorRT FP16 on the boards: every graph edgeseg exports (each encoder, each head) and its int8
// QDQ copy uses only operators TensorRT 8.2 (JetPack 4.6: TX1, TX2, Nano) imports, the list docs/
// inference.md gives, so no node leaves the TensorRT engine. (That hardswish written as
// HardSigmoid·Mul computes what tfjs does is test/export/parity.test.ts's MobileNetV3 case.)

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readGraphFacts } from '../../src/engine/onnx-opset.js';
import { opsOutsideTensorRt82, TENSORRT_8_2_OPS } from '../../src/engine/tensorrt-ops.js';
import { buildFcnOnnx } from '../../src/export/fcn-onnx.js';
import {
  CAFFE_VGG_NORMALIZATION,
  type FcnConfig,
  TORCHVISION_NORMALIZATION,
} from '../../src/model/architecture.js';
import { initialWeights } from '../../src/model/fcn8s.js';
import { repoRoot } from '../helpers/cli.js';

function config(encoder: FcnConfig['encoder'], head: FcnConfig['head']): FcnConfig {
  const vgg = encoder === 'vgg16';
  return {
    encoder,
    numClasses: 3,
    height: 64,
    width: 96,
    widthMultiplier: vgg ? 0.0625 : 0.25,
    head,
    inputChannelOrder: vgg ? 'BGR' : 'RGB',
    normalization: vgg ? CAFFE_VGG_NORMALIZATION : TORCHVISION_NORMALIZATION,
  };
}

async function exportedOps(c: FcnConfig): Promise<Set<string>> {
  const weights = initialWeights(c);
  const bytes = await buildFcnOnnx(c, async (name) => weights.get(name)!.values, 'shapes');
  return readGraphFacts('model.onnx', bytes).ops;
}

for (const encoder of ['vgg16', 'resnet18', 'mobilenetv3'] as const)
  for (const head of ['fcn8s', 'original'] as const)
    test(`${encoder}, ${head} head: every exported operator is one TensorRT 8.2 imports`, async () => {
      const ops = await exportedOps(config(encoder, head));
      assert.deepEqual(opsOutsideTensorRt82(ops), []);
      assert.ok(ops.has('Conv') && ops.has('ConvTranspose'));
    });

test('an int8 (QDQ) model adds only QuantizeLinear and DequantizeLinear', async () => {
  const path = join(repoRoot, 'models/synthetic-road-fcn8s-int8/model.onnx');
  const { ops } = readGraphFacts(path, await readFile(path));
  assert.deepEqual(opsOutsideTensorRt82(ops), []);
  assert.ok(ops.has('QuantizeLinear') && ops.has('DequantizeLinear'));
});

test('the list is the one docs/inference.md gives, and it has no HardSwish (TensorRT 8.2 lacks it)', async () => {
  const docs = await readFile(join(repoRoot, 'docs/inference.md'), 'utf8');
  const line = docs.split('\n').find((text) => text.startsWith('TensorRT 8.2 operators:'));
  assert.ok(line, 'docs/inference.md has a line starting "TensorRT 8.2 operators:"');
  const listed = [...line.matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1]!);
  assert.deepEqual(listed.sort(), [...TENSORRT_8_2_OPS].sort());
  assert.equal(TENSORRT_8_2_OPS.has('HardSwish'), false);
});
