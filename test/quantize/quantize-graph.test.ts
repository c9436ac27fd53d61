// The QDQ graph `edgeseg quantize` writes, on the bundled demo model: Q/DQ placement as designed
// (int8 weights per output channel on axis 0, int32 bias at input x weight scale, 8-bit activations
// between Q/DQ pairs, ConvTranspose left in float), onnxruntime fusing every convolution into
// QLinearConv, and int8 predictions agreeing with fp32 ones on held-out scenes.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { OnnxModelView } from '../../src/quantize/onnx-model.js';
import { DEFAULT_WEIGHT_BITS, quantizeWeights, weightLevels } from '../../src/quantize/qdq.js';
import type { ActivationType } from '../../src/quantize/ranges.js';
import { argmaxAgreement } from '../helpers/logits.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  type Calibrated,
  calibrateModel,
  DEMO_DIR,
  heldOutInputs,
  quantizeCalibrated,
  runModel,
} from './quantize-helpers.js';

const { DataType } = onnxProto.onnx.TensorProto;

/**
 * Correct quantisation agrees with fp32 on 99.4-99.6 % of held-out pixels here. The smallest real
 * faults tried: all biases dropped 96.9 %, weight scales of the wrong channels 93.5 %, weights at
 * half the int8 range 47 %; a wrong axis makes onnxruntime fail outright.
 */
const MIN_AGREEMENT = 0.985;

let calibrated: Calibrated;
let fp32Logits: Float32Array[];
let heldOut: Float32Array[];

before(async () => {
  calibrated = await calibrateModel(DEMO_DIR, 8);
  heldOut = heldOutInputs(calibrated.input, 12);
  fp32Logits = await runModel(join(DEMO_DIR, 'model.onnx'), calibrated.input, heldOut);
});

function quantized(activations: ActivationType): Uint8Array {
  return quantizeCalibrated(calibrated, activations);
}

/** Values of an initializer of any 8/32-bit or float type. */
function values(view: OnnxModelView, name: string): Int8Array | Uint8Array | Int32Array | Float32Array {
  const tensor = view.initializer(name)!;
  // A copy: a decoded Buffer may be a view into a larger, unaligned pool.
  const bytes = new Uint8Array(tensor.rawData!).buffer;
  if (tensor.dataType === DataType.INT8) return new Int8Array(bytes);
  if (tensor.dataType === DataType.UINT8) return new Uint8Array(bytes);
  if (tensor.dataType === DataType.INT32) return new Int32Array(bytes);
  if (tensor.dataType === DataType.FLOAT) return new Float32Array(bytes);
  throw new Error(`unexpected type ${tensor.dataType}`);
}

for (const activations of ['uint8', 'int8'] as const) {
  test(`${activations} activations: Q/DQ placement, weights per channel on axis 0, bias at input x weight scale`, () => {
    const view = new OnnxModelView(quantized(activations));
    const source = calibrated.view;
    const producer = (tensor: string) => view.producerOf(tensor)!;
    const convs = view.nodes.filter((node) => node.opType === 'Conv');
    assert.equal(convs.length, 18);
    for (const conv of convs) {
      const [input, weight, bias] = conv.input as [string, string, string];
      const original = source.floatInitializer(source.nodes.find((n) => n.name === conv.name)!.input![1]!);
      const originalBias = source.floatInitializer(
        source.nodes.find((n) => n.name === conv.name)!.input![2]!,
      );
      const channels = original.dims[0]!;
      const perChannel = original.values.length / channels;

      // Activation: DQ(Q(x)) with one scale and zero point for the tensor, this DQ feeding only this Conv.
      const inputDq = producer(input);
      assert.equal(inputDq.opType, 'DequantizeLinear', `${conv.name} input`);
      assert.equal(view.consumersOf(input).length, 1, `${conv.name}: its input DQ feeds it alone`);
      assert.equal(producer(inputDq.input![0]!).opType, 'QuantizeLinear');
      const [, inputScaleName, inputZeroName] = inputDq.input as [string, string, string];
      const inputScale = values(view, inputScaleName);
      assert.equal(inputScale.length, 1);
      const zeroPoint = view.initializer(inputZeroName)!;
      assert.equal(zeroPoint.dataType, activations === 'uint8' ? DataType.UINT8 : DataType.INT8);
      if (activations === 'int8') assert.deepEqual([...values(view, inputZeroName)], [0]);

      // Weights: int8 initializer of the original shape, one scale per output channel, axis 0.
      const weightDq = producer(weight);
      assert.equal(weightDq.opType, 'DequantizeLinear');
      assert.deepEqual(
        weightDq.attribute?.map((a) => [a.name, Number(a.i)]),
        [['axis', 0]],
      );
      const [qName, scaleName, zeroName] = weightDq.input as [string, string, string];
      assert.equal(view.initializer(qName)!.dataType, DataType.INT8);
      assert.deepEqual(view.initializer(qName)!.dims!.map(Number), original.dims);
      const q = values(view, qName);
      const scales = values(view, scaleName);
      assert.equal(scales.length, channels);
      assert.deepEqual([...values(view, zeroName)], new Array(channels).fill(0));
      for (let c = 0; c < channels; c++) {
        let largest = 0;
        let worst = 0;
        for (let i = c * perChannel; i < (c + 1) * perChannel; i++) {
          largest = Math.max(largest, Math.abs(q[i]!));
          worst = Math.max(worst, Math.abs(q[i]! * scales[c]! - original.values[i]!) / scales[c]!);
        }
        assert.ok(worst <= 0.5 + 1e-4, `${conv.name} channel ${c}: a weight is ${worst} steps off`);
        // The channel's own largest weight uses the whole 7-bit range (63): the scale is this
        // channel's, and no |q| beyond it can saturate x86's uint8 x int8 pair sums.
        assert.equal(
          largest,
          weightLevels(DEFAULT_WEIGHT_BITS),
          `${conv.name} channel ${c}: largest |q| ${largest}`,
        );
      }

      // Bias: int32 at scale input_scale x weight_scale[c], what QLinearConv (and TensorRT) assume.
      const biasDq = producer(bias);
      assert.deepEqual(
        biasDq.attribute?.map((a) => [a.name, Number(a.i)]),
        [['axis', 0]],
      );
      assert.equal(view.initializer(biasDq.input![0]!)!.dataType, DataType.INT32);
      const qBias = values(view, biasDq.input![0]!);
      const biasScales = values(view, biasDq.input![1]!);
      for (let c = 0; c < channels; c++) {
        assert.equal(
          biasScales[c],
          Math.fround(Math.fround(inputScale[0]!) * scales[c]!),
          `${conv.name} bias scale ${c}`,
        );
        assert.ok(
          Math.abs(qBias[c]! * biasScales[c]! - originalBias.values[c]!) <= biasScales[c]! / 2 + 1e-7,
        );
      }
    }
    // The upsampling stays float; so does the output.
    for (const node of view.nodes.filter((n) => n.opType === 'ConvTranspose'))
      assert.equal(view.initializer(node.input![1]!)!.dataType, DataType.FLOAT, node.name!);
    assert.equal(view.graph.output![0]!.name, 'logits');
  });

  test(`${activations} activations: int8 predictions agree with fp32 on held-out scenes`, async (t) => {
    const logits = await runModel(quantized(activations), calibrated.input, heldOut);
    const agreement = argmaxAgreement(fp32Logits, logits, calibrated.classes);
    t.diagnostic(`argmax agreement ${(agreement * 100).toFixed(2)} % over ${heldOut.length} scenes`);
    assert.ok(agreement >= MIN_AGREEMENT, `agreement ${agreement}`);
  });
}

test('onnxruntime fuses every quantised convolution into QLinearConv and pools on 8-bit values', async () => {
  const dir = await makeTempDir();
  const optimized = join(dir, 'optimized.onnx');
  const session = await ort.InferenceSession.create(quantized('uint8'), {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: optimized,
  });
  await session.release();
  const ops: Record<string, number> = {};
  for (const node of new OnnxModelView(await readFile(optimized)).nodes) {
    const op = node.domain ? `${node.domain}:${node.opType}` : node.opType!;
    ops[op] = (ops[op] ?? 0) + 1;
  }
  assert.equal(ops['com.microsoft:QLinearConv'], 18, JSON.stringify(ops));
  assert.equal(ops.Conv, undefined, JSON.stringify(ops));
  assert.equal(ops['com.microsoft:NhwcMaxPool'], 5, JSON.stringify(ops));
  // What stays float: the three upsampling layers, the in-graph normalisation and the fusing adds.
  assert.equal(ops.ConvTranspose, 3);
});

test("a bias too large for int32 at input x weight scale widens that channel's weight scale, not wraps", () => {
  // Channel 0: tiny weights, large bias, tiny input scale (a tiny-scaled skip); channel 1: ordinary.
  const weights = Float32Array.of(0.001, -0.002, 0.5, 0.25);
  const bias = Float32Array.of(1000, 0.001);
  const q = quantizeWeights(weights, 2, bias, 1e-9, 8);
  const biasValues = q.bias!;
  assert.ok(Math.abs(biasValues[0]!) <= 2 ** 31 - 1);
  assert.ok(
    Math.abs(biasValues[0]! * q.biasScales[0]! - 1000) < 1e-3,
    `bias ${biasValues[0]! * q.biasScales[0]!}`,
  );
  assert.ok(q.scales[0]! > 0.002 / 127, 'widened');
  assert.equal(q.scales[1], Math.fround(0.5 / 127), 'the other channel keeps its own scale');
  assert.deepEqual([...q.values.subarray(2)], [127, 64]);
});
