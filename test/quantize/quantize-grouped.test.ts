// Grouped and depthwise convolutions (MobileNet-style encoders: a depthwise 3x3, a grouped 1x1)
// quantise like any Conv: one weight scale per output channel on axis 0 (the output channel whatever
// the group), onnxruntime fuses each into QLinearConv, and the int8 logits stay close to fp32's.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { OnnxGraphBuilder } from '../../src/export/onnx-graph.js';
import { fillNormal, mulberry32 } from '../../src/model/random.js';
import { OnnxModelView } from '../../src/quantize/onnx-model.js';
import { argmaxAgreement } from '../helpers/logits.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  calibrateBytes,
  heldOutInputs,
  quantizeCalibrated,
  rawBgrInput,
  runModel,
} from './quantize-helpers.js';

const CLASSES = 4;
/**
 * Correct quantisation: 0.0175 here (argmax agreement 98.9 %). The fault tried (each channel
 * quantised with its neighbour's weights): 0.90 (agreement 2.6 %); reading in-channels as out-channels (dims[1]) is caught by the plan's
 * channel counts.
 */
const MAX_RELATIVE_ERROR = 0.05;

/** RMS of (int8 - fp32) over the RMS of fp32 around its mean: 0 is exact. */
function relativeRmsError(fp32: Float32Array[], int8: Float32Array[]): number {
  let sum = 0;
  let count = 0;
  for (const logits of fp32) {
    for (const value of logits) sum += value;
    count += logits.length;
  }
  const mean = sum / count;
  let signal = 0;
  let noise = 0;
  fp32.forEach((logits, n) => {
    logits.forEach((value, i) => {
      signal += (value - mean) ** 2;
      noise += (int8[n]![i]! - value) ** 2;
    });
  });
  return Math.sqrt(noise / signal);
}
const input = rawBgrInput(48, 144);

/** image/255 → conv 3→16 → depthwise 3x3 (group 16) → grouped 1x1 16→8 (group 2) → score 8→4 → ×1. */
function groupedModel(): Uint8Array {
  const random = mulberry32(11);
  const graph = new OnnxGraphBuilder();
  graph.input('image', [1, 3, input.height, input.width]);
  const conv = (name: string, from: string, dims: [number, number, number, number], group: number) => {
    const [out, inPerGroup, kh, kw] = dims;
    const weights = new Float32Array(out * inPerGroup * kh * kw);
    fillNormal(weights, Math.sqrt(2 / (inPerGroup * kh * kw)), random);
    const bias = new Float32Array(out);
    // No bias on the score layer, so that no class wins everywhere and the argmax says something.
    if (name !== 'score') fillNormal(bias, 0.1, random);
    return graph.node(
      'Conv',
      [from, graph.initializer(`${name}_w`, dims, weights), graph.initializer(`${name}_b`, [out], bias)],
      { group, kernel_shape: [kh, kw], pads: [kh >> 1, kw >> 1, kh >> 1, kw >> 1] },
      name,
    );
  };
  const scaled = graph.node('Mul', ['image', graph.constant([], [1 / 255])]);
  const stem = graph.node('Relu', [conv('stem', scaled, [16, 3, 3, 3], 1)]);
  const depthwise = graph.node('Relu', [conv('depthwise', stem, [16, 1, 3, 3], 16)]);
  const grouped = graph.node('Relu', [conv('grouped', depthwise, [8, 8, 1, 1], 2)]);
  // A float op after the last Conv, as the upsampling is in FCN: a Conv whose output is the graph's
  // own output is left as DQ -> Conv (nothing reads its Q), which is not what this test is about.
  graph.node('Mul', [conv('score', grouped, [CLASSES, 8, 1, 1], 1), graph.constant([], [1])], {}, 'logits');
  graph.output('logits', [1, CLASSES, input.height, input.width]);
  return graph.encode('grouped', 'quantize grouped-conv test');
}

test('depthwise and grouped Conv: per-channel weights on axis 0, fused into QLinearConv, int8 logits close to fp32', async (t) => {
  const fp32 = groupedModel();
  const calibrated = await calibrateBytes(fp32, input, CLASSES, 8);
  assert.deepEqual(
    calibrated.plan.layers.map((layer) => [layer.name, layer.outChannels]),
    [
      ['stem', 16],
      ['depthwise', 16],
      ['grouped', 8],
      ['score', CLASSES],
    ],
  );
  const int8 = quantizeCalibrated(calibrated, 'uint8');

  const dir = await makeTempDir();
  const optimized = join(dir, 'optimized.onnx');
  const session = await ort.InferenceSession.create(int8, {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: optimized,
  });
  await session.release();
  const fused = new OnnxModelView(await readFile(optimized)).nodes.filter(
    (node) => node.opType === 'QLinearConv',
  );
  assert.equal(fused.length, 4, 'every convolution, grouped or not, runs as QLinearConv');
  const groups = fused.map((node) => Number(node.attribute?.find((a) => a.name === 'group')?.i ?? 1));
  assert.deepEqual(
    groups.sort((a, b) => a - b),
    [1, 1, 2, 16],
  );

  const inputs = heldOutInputs(input, 6);
  const fp32Logits = await runModel(fp32, input, inputs);
  const int8Logits = await runModel(int8, input, inputs);
  const agreement = argmaxAgreement(fp32Logits, int8Logits, CLASSES);
  const error = relativeRmsError(fp32Logits, int8Logits);
  t.diagnostic(`argmax agreement ${(agreement * 100).toFixed(2)} %, relative RMS error ${error.toFixed(4)}`);
  assert.ok(error < MAX_RELATIVE_ERROR, `relative RMS error ${error}`);
});
