// The arm64 lane's check of `edgeseg quantize --activations int8` against onnxruntime issue #31573:
// its plain-NEON int8 GEMM (ARMv8.0 cores without the dot product, the Jetson TX1/TX2's Cortex-A57)
// adds two int8 products in one int16 lane, and (-128)x(-128) + (-128)x(-128) = 32768 wraps.
// Our quantiser keeps weights in [-127, 127], so no product reaches 16384: a convolution fed
// activations saturated at -128 must come out exact. A model with full-range (-128) weights is run
// beside it to show whether this onnxruntime, on this CPU, has the overflow.
// Run by scripts/arm64-lane.sh as the board's CPU (node --import tsx test/arm64/int8-overflow.ts);
// not part of `npm test`: on x86 onnxruntime takes other kernels.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { OnnxGraphBuilder, onnx } from '../../src/export/onnx-graph.js';
import { planQuantization } from '../../src/quantize/layers.js';
import { OnnxModelView, tensorProto } from '../../src/quantize/onnx-model.js';
import { buildQdqModel } from '../../src/quantize/qdq.js';

const OUT_CHANNELS = 16;
const OUTPUT_FACTOR = 2;
/** Below the calibrated range [-1, 1]: every activation saturates at int8's lowest value, -128. */
const INPUT = -2;

/**
 * Convolutions that onnxruntime runs as a symmetric int8 GEMM on ARM64 (1x1, or fewer than 64 input
 * channels), K = the reduction length (several 16-wide blocks), M = output pixels (1 takes the
 * kernel's one-row path that #31573 names, 5 its four-row path and then one row).
 */
const shapes = [
  { name: '1x1 conv, K = 64, M = 1', inChannels: 64, kernel: 1, size: 1 },
  { name: '1x1 conv, K = 64, M = 5', inChannels: 64, kernel: 1, size: [1, 5] },
  { name: '3x3 conv, K = 144, M = 1', inChannels: 16, kernel: 3, size: 3 },
  { name: '3x3 conv, K = 144, M = 36', inChannels: 16, kernel: 3, size: 8 },
];

interface Shape {
  inChannels: number;
  kernel: number;
  size: number | number[];
}

/** Input height and width. */
const dims = ({ size }: Shape): [number, number] =>
  Array.isArray(size) ? [size[0]!, size[1]!] : [size, size];

/** A float Conv with every weight -1 quantised by our quantiser, inputs calibrated to [-1, 1]. */
function quantisedConv(shape: Shape) {
  const { inChannels, kernel } = shape;
  const [height, width] = dims(shape);
  const graph = new OnnxGraphBuilder();
  graph.input('x', [1, inChannels, height, width]);
  const weights = new Float32Array(OUT_CHANNELS * inChannels * kernel * kernel).fill(-1);
  graph.initializer('w', [OUT_CHANNELS, inChannels, kernel, kernel], weights);
  graph.node('Conv', ['x', 'w'], { kernel_shape: [kernel, kernel] }, 'c');
  // A float op after the Conv: onnxruntime fuses DQ -> Conv -> Q into QLinearConv only when the
  // Conv's output feeds the Q alone, not a graph output (FCN-8s's convolutions all feed other ops).
  graph.node('Mul', ['c', graph.constant([], [OUTPUT_FACTOR])], {}, 'y');
  graph.output('y', [1, OUT_CHANNELS, height - kernel + 1, width - kernel + 1]);
  const view = new OnnxModelView(graph.encode('conv', 'int8 overflow probe'));
  const plan = planQuantization(view);
  // Each output is the sum of K inputs of about -1: its range covers K and a little more.
  const reduction = inChannels * kernel * kernel;
  const ranges = new Map([
    ['x', { low: -1, high: 1 }],
    ['c', { low: -2 * reduction, high: 2 * reduction }],
  ]);
  // The widest weights our quantiser writes (--weight-bits 8); the default 7 stays further from -128.
  const { bytes } = buildQdqModel(view, plan, {
    activations: 'int8',
    floatLayers: new Set(),
    ranges,
    weightBits: 8,
  });
  return { bytes, reduction };
}

/**
 * What exact int8 arithmetic gives for an input of all INPUT, from the model's own parameters
 * (whatever weight and activation ranges the quantiser chose), and one output quantisation step.
 */
function exactOutput(bytes: Uint8Array, reduction: number) {
  const view = new OnnxModelView(bytes);
  const scalar = (name: string) => view.floatInitializer(name).values[0]!;
  const inputScale = scalar('x_scale');
  const quantisedInput = Math.max(-128, Math.min(127, Math.round(INPUT / inputScale)));
  const weight = quantisedWeights(bytes)[0]! * scalar('w_scale');
  return {
    expected: OUTPUT_FACTOR * reduction * quantisedInput * inputScale * weight,
    outputStep: OUTPUT_FACTOR * scalar('c_scale'),
  };
}

/** The same model with the weights at -128 and scale 1/128 (the same float weights, full int8 range). */
function withFullRangeWeights(bytes: Uint8Array): Uint8Array {
  const view = new OnnxModelView(bytes);
  const graph = view.model.graph!;
  graph.initializer = graph.initializer!.map((tensor) => {
    if (tensor.name === 'w_quantized')
      return tensorProto(
        'w_quantized',
        tensor.dims!.map(Number),
        new Int8Array(tensor.rawData!.length).fill(-128),
      );
    if (tensor.name === 'w_scale')
      return tensorProto('w_scale', [OUT_CHANNELS], new Float32Array(OUT_CHANNELS).fill(1 / 128));
    return tensor;
  });
  return onnx.ModelProto.encode(view.model).finish();
}

function quantisedWeights(bytes: Uint8Array): Int8Array {
  const tensor = new OnnxModelView(bytes).initializer('w_quantized')!;
  return new Int8Array(tensor.rawData!.buffer, tensor.rawData!.byteOffset, tensor.rawData!.length);
}

/**
 * Largest difference from `expected`, in output quantisation steps, over every output, and the
 * operators onnxruntime actually ran (its optimised graph, written to a temp file).
 */
async function maxErrorSteps(bytes: Uint8Array, shape: Shape, expected: number, step: number) {
  const optimised = join(await mkdtemp(join(tmpdir(), 'edgeseg-int8-overflow-')), 'optimised.onnx');
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    optimizedModelFilePath: optimised,
  });
  try {
    const ops = new OnnxModelView(await readFile(optimised)).nodes.map((node) => node.opType);
    await rm(dirname(optimised), { recursive: true });
    const [height, width] = dims(shape);
    const input = new Float32Array(shape.inChannels * height * width).fill(INPUT);
    const result = await session.run({
      x: new ort.Tensor('float32', input, [1, shape.inChannels, height, width]),
    });
    const output = result.y!.data as Float32Array;
    let worst = 0;
    for (const value of output) worst = Math.max(worst, Math.abs(value - expected) / step);
    return { worst, ops };
  } finally {
    await session.release();
  }
}

for (const shape of shapes) {
  test(`int8 activations at -128 through a ${shape.name}: our quantiser's model is exact on this CPU`, async () => {
    const { bytes, reduction } = quantisedConv(shape);
    // QLinearConv rounds the exact sum to its output step: within half a step, if no product overflows.
    const { expected, outputStep } = exactOutput(bytes, reduction);
    const { worst: ours, ops } = await maxErrorSteps(bytes, shape, expected, outputStep);
    const { worst: fullRange } = await maxErrorSteps(
      withFullRangeWeights(bytes),
      shape,
      expected,
      outputStep,
    );
    // Else onnxruntime ran the convolution in float and the int8 kernel was never tested.
    assert.ok(ops.includes('QLinearConv'), `onnxruntime ran ${ops.join(', ')}: no QLinearConv`);
    console.log(
      `${shape.name}: our quantiser's model off by at most ${ours.toFixed(2)} output steps; ` +
        `full-range (-128) weights off by ${fullRange.toFixed(2)} steps ` +
        `(${fullRange > 1 ? 'onnxruntime #31573 overflow on this CPU' : 'no overflow on this CPU'})`,
    );
    assert.ok(ours <= 1, `our int8 model is off by ${ours.toFixed(2)} output steps (at most 1 allowed)`);
    // Also where onnxruntime has the fix: the weights never reach -128, so no product reaches 16384.
    const lowest = Math.min(...quantisedWeights(bytes));
    assert.ok(lowest > -128, `a weight quantised to ${lowest}: (-128)x(-128) products can overflow`);
  });
}
