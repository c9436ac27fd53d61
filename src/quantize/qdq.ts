// Rewrites a float ONNX graph into static QDQ int8: each quantised Conv reads its weights as an int8
// initializer (7 or 8 significant bits) with one symmetric scale per output channel (DequantizeLinear
// axis 0, which also holds for grouped and depthwise Conv: axis 0 is the output channel), its bias as
// int32 at scale input_scale x weight_scale, and its input and output activations through
// QuantizeLinear -> DequantizeLinear pairs with calibrated per-tensor parameters. onnxruntime's CPU
// provider fuses DQ -> Conv (-> Relu) -> Q into QLinearConv; TensorRT reads the same pattern as
// explicit quantisation. MaxPool between quantised tensors keeps its input's parameters, so it runs
// on 8-bit values as well.

import { onnx } from '../export/onnx-graph.js';
import type { ConvLayer, QuantizationPlan } from './layers.js';
import {
  type AttributeProto,
  DataType,
  type ModelProto,
  type NodeProto,
  type OnnxModelView,
  type TensorProto,
  tensorProto,
} from './onnx-model.js';
import { type ActivationType, activationParams, type QuantParams, type Range } from './ranges.js';

const INT32_MAX = 2 ** 31 - 1;

/**
 * Significant bits of the int8 weights. 7 (|q| <= 63) keeps onnxruntime's x86 uint8 x int8 kernels
 * without VNNI exact: they multiply with `vpmaddubsw`, which adds two uint8 x int8 products into a
 * saturating int16; 2 x 255 x 63 = 32130 fits, 2 x 255 x 127 = 64770 does not. 8 uses the full range
 * (exact on VNNI x86 and ARM only). onnxruntime's own quantiser calls 7 bits `reduce_range`.
 */
export type WeightBits = 7 | 8;
export const WEIGHT_BITS: readonly WeightBits[] = [7, 8];
export const DEFAULT_WEIGHT_BITS: WeightBits = 7;

/** Largest |q| of a symmetric weight with `bits` significant bits. */
export function weightLevels(bits: WeightBits): number {
  return 2 ** (bits - 1) - 1;
}

export interface QdqOptions {
  activations: ActivationType;
  weightBits: WeightBits;
  /** Names of quantisable layers to keep in float. */
  floatLayers: ReadonlySet<string>;
  /** Calibrated range of every tensor in plan.calibrationTensors. */
  ranges: ReadonlyMap<string, Range>;
}

export interface QdqModel {
  bytes: Uint8Array;
  quantizedLayers: string[];
}

export interface QuantizedWeights {
  values: Int8Array;
  /** One scale per output channel (axis 0). */
  scales: Float32Array;
  /** int32 bias at scale inputScale x scales[c], when the layer has a bias. */
  bias: Int32Array | undefined;
  biasScales: Float32Array;
}

/**
 * Symmetric per-output-channel int8 weights in [-L, L] (L = 63 for 7 bits, 127 for 8) and the int32
 * bias. A channel's scale is widened where its bias would not fit int32 at inputScale x scale
 * (tiny-scale skips could do that).
 */
export function quantizeWeights(
  weights: Float32Array,
  outChannels: number,
  bias: Float32Array | undefined,
  inputScale: number,
  bits: WeightBits,
): QuantizedWeights {
  const levels = weightLevels(bits);
  const perChannel = weights.length / outChannels;
  const values = new Int8Array(weights.length);
  const scales = new Float32Array(outChannels);
  const biasScales = new Float32Array(outChannels);
  const quantizedBias = bias ? new Int32Array(outChannels) : undefined;
  const x = Math.fround(inputScale);
  for (let c = 0; c < outChannels; c++) {
    let largest = 0;
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++)
      largest = Math.max(largest, Math.abs(weights[i]!));
    let scale = largest / levels;
    if (bias) scale = Math.max(scale, Math.abs(bias[c]!) / (x * INT32_MAX));
    scales[c] = scale > 0 ? scale : 1;
    const w = scales[c]!;
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++)
      values[i] = Math.max(-levels, Math.min(levels, Math.round(weights[i]! / w)));
    biasScales[c] = Math.fround(x * w);
    // Clamped, not wrapped: the widened scale can still land a rounding step past int32.
    if (bias && quantizedBias)
      quantizedBias[c] = Math.max(-INT32_MAX, Math.min(INT32_MAX, Math.round(bias[c]! / biasScales[c]!)));
  }
  return { values, scales, bias: quantizedBias, biasScales };
}

const axisZero: AttributeProto = { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 };

/** Parameters of every quantised tensor: calibrated, except MaxPool outputs, which keep their input's. */
function tensorParams(
  view: OnnxModelView,
  layers: readonly ConvLayer[],
  options: QdqOptions,
): Map<string, QuantParams> {
  const params = new Map<string, QuantParams>();
  const calibrated = (tensor: string) => {
    const range = options.ranges.get(tensor);
    if (!range) throw new Error(`no calibrated range for tensor ${tensor}`);
    return activationParams(range, options.activations);
  };
  for (const layer of layers) {
    params.set(layer.input, calibrated(layer.input));
    params.set(layer.output, calibrated(layer.output));
  }
  // Nodes are in topological order, so a chain of pools inherits in one pass.
  for (const node of view.nodes) {
    const input = node.input?.[0];
    if (node.opType === 'MaxPool' && !node.domain && input && params.has(input))
      params.set(node.output![0]!, params.get(input)!);
  }
  return params;
}

export function buildQdqModel(view: OnnxModelView, plan: QuantizationPlan, options: QdqOptions): QdqModel {
  const layers = plan.layers.filter((layer) => !options.floatLayers.has(layer.name));
  const byNode = new Map(layers.map((layer) => [layer.node, layer]));
  const params = tensorParams(view, layers, options);
  const activationType = options.activations === 'uint8' ? DataType.UINT8 : DataType.INT8;

  const initializers: TensorProto[] = [];
  const replaced = new Set<string>();
  const nodes: NodeProto[] = [];
  for (const [tensor, { scale, zeroPoint }] of params) {
    const zeroPoints = activationType === DataType.UINT8 ? Uint8Array.of(zeroPoint) : Int8Array.of(zeroPoint);
    initializers.push(
      tensorProto(`${tensor}_scale`, [], Float32Array.of(scale)),
      tensorProto(`${tensor}_zero_point`, [], zeroPoints),
    );
  }
  const quantize = (tensor: string) =>
    nodes.push({
      opType: 'QuantizeLinear',
      name: `${tensor}_QuantizeLinear`,
      input: [tensor, `${tensor}_scale`, `${tensor}_zero_point`],
      output: [`${tensor}_quantized`],
    });
  const dequantizeCount = new Map<string, number>();
  // One DequantizeLinear per consumer: onnxruntime fuses a DQ into a node only if it feeds that node alone.
  const dequantize = (tensor: string): string => {
    const index = dequantizeCount.get(tensor) ?? 0;
    dequantizeCount.set(tensor, index + 1);
    const output = `${tensor}_dequantized_${index}`;
    nodes.push({
      opType: 'DequantizeLinear',
      name: output,
      input: [`${tensor}_quantized`, `${tensor}_scale`, `${tensor}_zero_point`],
      output: [output],
    });
    return output;
  };
  const constantDequantize = (
    name: string,
    quantized: TensorProto,
    scales: Float32Array,
    zeroPoint: TensorProto,
  ) => {
    initializers.push(quantized, tensorProto(`${name}_scale`, [scales.length], scales), zeroPoint);
    nodes.push({
      opType: 'DequantizeLinear',
      name: `${name}_DequantizeLinear`,
      input: [quantized.name!, `${name}_scale`, zeroPoint.name!],
      output: [`${name}_dequantized`],
      attribute: [axisZero],
    });
    return `${name}_dequantized`;
  };

  for (const tensor of params.keys()) if (!view.producerOf(tensor)) quantize(tensor);
  for (const node of view.nodes) {
    const inputs = [...(node.input ?? [])];
    const replacements = new Map<string, string>();
    for (const input of new Set(inputs))
      if (input && params.has(input)) replacements.set(input, dequantize(input));
    const layer = byNode.get(node);
    if (layer) {
      const weight = view.floatInitializer(layer.weight);
      const bias = layer.bias ? view.floatInitializer(layer.bias).values : undefined;
      const q = quantizeWeights(
        weight.values,
        layer.outChannels,
        bias,
        params.get(layer.input)!.scale,
        options.weightBits,
      );
      const channels = layer.outChannels;
      replacements.set(
        layer.weight,
        constantDequantize(
          layer.weight,
          tensorProto(`${layer.weight}_quantized`, weight.dims, q.values),
          q.scales,
          tensorProto(`${layer.weight}_zero_point`, [channels], new Int8Array(channels)),
        ),
      );
      replaced.add(layer.weight);
      if (layer.bias && q.bias) {
        replacements.set(
          layer.bias,
          constantDequantize(
            layer.bias,
            tensorProto(`${layer.bias}_quantized`, [channels], q.bias),
            q.biasScales,
            tensorProto(`${layer.bias}_zero_point`, [channels], new Int32Array(channels)),
          ),
        );
        replaced.add(layer.bias);
      }
    }
    nodes.push({ ...node, input: inputs.map((input) => replacements.get(input) ?? input) });
    for (const output of node.output ?? []) if (params.has(output)) quantize(output);
  }

  const graph = view.graph;
  const kept = (graph.initializer ?? []).filter((tensor) => !replaced.has(tensor.name ?? ''));
  assertUniqueNames(
    [...kept, ...initializers].map((t) => t.name ?? ''),
    nodes.flatMap((n) => n.output ?? []),
  );
  const model: ModelProto = {
    ...view.model,
    graph: { ...graph, node: nodes, initializer: [...kept, ...initializers] },
  };
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    quantizedLayers: layers.map((layer) => layer.name),
  };
}

/** The names added (`<tensor>_scale`, `_quantized`, ...) must not clash with the graph's own. */
function assertUniqueNames(initializers: string[], outputs: string[]): void {
  const seen = new Set<string>();
  for (const name of [...initializers, ...outputs]) {
    if (seen.has(name)) throw new Error(`quantized graph would define "${name}" twice`);
    seen.add(name);
  }
}
