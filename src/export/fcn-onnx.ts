// FCN-8s → ONNX graph: NCHW input `image` [1,3,H,W] of raw 0-255 pixels, output `logits`
// [1,C,H,W]. Plain Conv/ConvTranspose/Relu/MaxPool/Add/Mul/Sub so ONNX Runtime and TensorRT fuse it.

import { type FcnConfig, fcnLayerSpecs, POOL3_SCALE, POOL4_SCALE } from '../model/fcn8s.js';
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

export async function buildFcnOnnx(
  config: FcnConfig,
  weights: WeightSource,
  docString: string,
): Promise<Uint8Array> {
  const graph = new OnnxGraphBuilder();
  const specs = new Map(fcnLayerSpecs(config).map((spec) => [spec.name, spec]));
  graph.input('image', [1, 3, config.height, config.width]);

  const kernelValues = (layer: string) => weights(`${layer}/kernel`);
  const conv = async (x: string, layer: string, relu: boolean): Promise<string> => {
    const spec = specs.get(layer)!;
    const weight = graph.initializer(
      `${layer}.weight`,
      [spec.outChannels, spec.inChannels, spec.kernel, spec.kernel],
      kernelToOnnxLayout(await kernelValues(layer), spec.kernel, spec.inChannels, spec.outChannels),
    );
    const bias = graph.initializer(`${layer}.bias`, [spec.outChannels], await weights(`${layer}/bias`));
    const pad = (spec.kernel - 1) / 2;
    const y = graph.node(
      'Conv',
      [x, weight, bias],
      { kernel_shape: [spec.kernel, spec.kernel], pads: [pad, pad, pad, pad], strides: [1, 1] },
      layer,
    );
    return relu ? graph.node('Relu', [y], {}, `${layer}_relu`) : y;
  };
  const upsample = async (x: string, layer: string): Promise<string> => {
    const spec = specs.get(layer)!;
    const weight = graph.initializer(
      `${layer}.weight`,
      [spec.inChannels, spec.outChannels, spec.kernel, spec.kernel],
      kernelToOnnxLayout(await kernelValues(layer), spec.kernel, spec.outChannels, spec.inChannels),
    );
    return graph.node(
      'ConvTranspose',
      [x, weight],
      {
        kernel_shape: [spec.kernel, spec.kernel],
        strides: [spec.stride, spec.stride],
        pads: sameDeconvPads(spec.kernel, spec.stride),
      },
      layer,
    );
  };
  const scale = (x: string, factor: number) => graph.node('Mul', [x, graph.constant([], [factor])]);

  const { normalization } = config;
  const multiply = normalization.std.map((s) => normalization.scale / s);
  const offset = normalization.mean.map((m, c) => m / normalization.std[c]!);
  let x = graph.node('Mul', ['image', graph.constant([1, 3, 1, 1], multiply)], {}, 'normalize_scale');
  x = graph.node('Sub', [x, graph.constant([1, 3, 1, 1], offset)], {}, 'normalize_mean');

  const pools: string[] = [];
  const blocks = [2, 2, 3, 3, 3];
  for (const [block, count] of blocks.entries()) {
    for (let i = 1; i <= count; i++) x = await conv(x, `conv${block + 1}_${i}`, true);
    x = graph.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, `pool${block + 1}`);
    pools.push(x);
  }
  const conv7 = await conv(await conv(x, 'fc6', true), 'fc7', true);
  let logits: string;
  if (config.head === 'fcn8s') {
    const upscore2 = await upsample(await conv(conv7, 'score_fr', false), 'upscore2');
    const scorePool4 = await conv(scale(pools[3]!, POOL4_SCALE), 'score_pool4', false);
    const upscorePool4 = await upsample(
      graph.node('Add', [upscore2, scorePool4], {}, 'fuse_pool4'),
      'upscore_pool4',
    );
    const scorePool3 = await conv(scale(pools[2]!, POOL3_SCALE), 'score_pool3', false);
    logits = await upsample(graph.node('Add', [upscorePool4, scorePool3], {}, 'fuse_pool3'), 'upscore8');
  } else {
    const up3 = await upsample(await conv(pools[2]!, 'score_layer3', false), 'upscore_layer3');
    const up4 = await upsample(await conv(pools[3]!, 'score_layer4', false), 'upscore_layer4');
    const up7 = await upsample(await conv(conv7, 'score_layer7', false), 'upscore_layer7');
    logits = graph.node('Add', [graph.node('Add', [up3, scale(up4, 2)]), scale(up7, 4)]);
  }
  graph.node('Identity', [logits], {}, 'logits');
  graph.output('logits', [1, config.numClasses, config.height, config.width]);
  return graph.encode(`fcn8s_${config.head}`, docString);
}
