// FCN-8s → ONNX graph: NCHW input `image` [1,3,H,W] of raw 0-255 pixels, output `logits`
// [1,C,H,W], written by walking model/architecture.ts's graph op by op. Plain
// Conv/ConvTranspose/Relu/MaxPool/Add/Mul/Sub (and, for MobileNetV3, HardSigmoid for hardswish and
// the squeeze-excitation's GlobalAveragePool) so ONNX Runtime and TensorRT 8.2+ take every node.
// BatchNorm is already folded into the light encoders' convolutions (model/light-encoders.ts).

import {
  type Activation,
  type FcnConfig,
  type FcnOp,
  fcnGraph,
  type LayerSpec,
  normalizationAffine,
  parameterName,
} from '../model/architecture.js';
import { OnnxGraphBuilder } from './onnx-graph.js';

/**
 * Moves a kernel's two channel axes in front of its spatial ones, swapped: [k,k,A,B] → [B,A,k,k].
 * tfjs conv [k,k,in,out] becomes ONNX Conv's [out,in,k,k]; tfjs conv2dTranspose [k,k,out,in]
 * becomes ONNX ConvTranspose's [in,out,k,k].
 */
export function kernelToOnnxLayout(values: Float32Array, k: number, a: number, b: number): Float32Array {
  const result = new Float32Array(values.length);
  for (let p = 0; p < k * k; p++)
    for (let i = 0; i < a; i++) {
      const source = (p * a + i) * b;
      for (let o = 0; o < b; o++) result[(o * a + i) * k * k + p] = values[source + o]!;
    }
  return result;
}

/** Padding that makes ONNX ConvTranspose equal tfjs/TF conv2dTranspose 'same' (output = input × stride). */
export function sameDeconvPads(kernel: number, stride: number): [number, number, number, number] {
  const total = Math.max(kernel - stride, 0);
  const begin = Math.floor(total / 2);
  const end = total - begin;
  return [begin, begin, end, end];
}

/** Where the exporter gets each parameter (tfjs layout) by name: a live model or checkpoint arrays. */
export type WeightSource = (name: string) => Promise<Float32Array>;

export interface OnnxBuildOptions {
  /** Also output the encoder features the heads read, as `feature_pool3`, `feature_pool4`, `feature_conv7` (NCHW), for checks. */
  featureOutputs?: boolean;
}

export async function buildFcnOnnx(
  config: FcnConfig,
  weights: WeightSource,
  docString: string,
  options: OnnxBuildOptions = {},
): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder();
  const fcn = fcnGraph(config);
  graph.input(fcn.input, [1, 3, config.height, config.width]);
  // Architecture tensor name → ONNX value name (a ReLU conv's value is `<layer>_relu`).
  const values = new Map<string, string>([[fcn.input, fcn.input]]);
  const read = (name: string) => values.get(name)!;

  const conv = async (x: string, layer: LayerSpec, activation?: Activation): Promise<string> => {
    const { name, kernel, inChannels, outChannels, stride } = layer;
    // A depthwise kernel [k,k,C,1] becomes [1,C,k,k], the same bytes as Conv's [C,1,k,k] for group C.
    const kernelOut = layer.depthwise ? 1 : outChannels;
    const weight = graph.initializer(
      `${name}.weight`,
      [outChannels, layer.depthwise ? 1 : inChannels, kernel, kernel],
      kernelToOnnxLayout(await weights(parameterName(name, 'kernel')), kernel, inChannels, kernelOut),
    );
    const bias = graph.initializer(`${name}.bias`, [outChannels], await weights(parameterName(name, 'bias')));
    const pad = (kernel - 1) / 2;
    const y = graph.node(
      'Conv',
      [x, weight, bias],
      {
        kernel_shape: [kernel, kernel],
        pads: [pad, pad, pad, pad],
        strides: [stride, stride],
        ...(layer.depthwise ? { group: inChannels } : {}),
      },
      name,
    );
    if (activation === 'relu') return graph.node('Relu', [y], {}, `${name}_relu`);
    // hardswish(y) = y · hardsigmoid(y) with alpha 1/6, beta 0.5, exactly: written so because
    // TensorRT 8.2 (JetPack 4.6, the last for TX1/TX2/Nano) has no HardSwish importer (it came in
    // 8.4) and would leave every one to another provider, cutting the graph into pieces.
    if (activation === 'hardswish') {
      const gate = graph.node('HardSigmoid', [y], { alpha: 1 / 6, beta: 0.5 }, `${name}_hardsigmoid`);
      return graph.node('Mul', [y, gate], {}, `${name}_hardswish`);
    }
    return y;
  };
  const upsample = async (x: string, layer: LayerSpec): Promise<string> => {
    const { name, kernel, inChannels, outChannels, stride } = layer;
    const weight = graph.initializer(
      `${name}.weight`,
      [inChannels, outChannels, kernel, kernel],
      kernelToOnnxLayout(await weights(parameterName(name, 'kernel')), kernel, outChannels, inChannels),
    );
    return graph.node(
      'ConvTranspose',
      [x, weight],
      { kernel_shape: [kernel, kernel], strides: [stride, stride], pads: sameDeconvPads(kernel, stride) },
      name,
    );
  };
  // Dropout is training-only: the inference graph has none.
  const write = async (op: FcnOp): Promise<string> => {
    switch (op.op) {
      case 'normalize': {
        const { multiply, offset } = normalizationAffine(config.normalization);
        const x = graph.node(
          'Mul',
          [read(op.input), graph.constant([1, 3, 1, 1], multiply)],
          {},
          'normalize_scale',
        );
        return graph.node('Sub', [x, graph.constant([1, 3, 1, 1], offset)], {}, 'normalize_mean');
      }
      case 'conv':
        return conv(read(op.input), op.layer, op.activation);
      case 'maxPool': {
        const stride = op.stride ?? op.size;
        const attributes: Record<string, number[]> = {
          kernel_shape: [op.size, op.size],
          strides: [stride, stride],
        };
        if (op.pad !== undefined) attributes.pads = [op.pad, op.pad, op.pad, op.pad];
        return graph.node('MaxPool', [read(op.input)], attributes, op.output);
      }
      case 'relu':
        return graph.node('Relu', [read(op.input)], {}, op.output);
      case 'squeezeExcite': {
        const pooled = graph.node('GlobalAveragePool', [read(op.input)], {}, `${op.output}_pool`);
        const reduced = await conv(pooled, op.reduce, 'relu');
        const expanded = await conv(reduced, op.expand);
        const gate = graph.node('HardSigmoid', [expanded], { alpha: 1 / 6, beta: 0.5 }, `${op.output}_gate`);
        return graph.node('Mul', [read(op.input), gate], {}, op.output);
      }
      case 'scale':
        return graph.node('Mul', [read(op.input), graph.constant([], [op.factor])], {}, op.output);
      case 'upsample':
        return upsample(read(op.input), op.layer);
      case 'add': {
        // ONNX Add is binary: a left-to-right chain, the last one named after the op's output.
        let sum = read(op.inputs[0]!);
        for (const [i, input] of op.inputs.slice(1).entries())
          sum = graph.node('Add', [sum, read(input)], {}, i === op.inputs.length - 2 ? op.output : undefined);
        return sum;
      }
    }
  };
  for (const op of [...fcn.encoder, ...fcn.head]) values.set(op.output, await write(op));
  graph.node('Identity', [read(fcn.logits)], {}, 'logits');
  graph.output('logits', [1, config.numClasses, config.height, config.width]);
  if (options.featureOutputs)
    for (const [name, feature] of Object.entries(fcn.features)) {
      graph.node('Identity', [read(feature.tensor)], {}, `feature_${name}`);
      graph.output(`feature_${name}`, [
        1,
        feature.channels,
        config.height / feature.stride,
        config.width / feature.stride,
      ]);
    }
  return graph.encode(`fcn8s_${config.head}`, docString);
}
