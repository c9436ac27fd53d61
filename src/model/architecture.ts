// FCN-8s on VGG16, ResNet18 or MobileNetV3-Large, described once: the layers with their parameters
// and the graph of ops over named tensors that connects them. The tfjs model (fcn8s.ts) and the ONNX
// writer (export/fcn-onnx.ts) both walk this graph; initialisation, checkpoints and the importers
// read its layer table. The light encoders' block tables are in light-encoders.ts.

import { UserError } from '../system/errors.js';
import { kernelSizeForFactor } from './bilinear.js';
import { mobileNetV3Encoder, resNet18Encoder } from './light-encoders.js';

/** The encoders: the paper's VGG16 (with fc6/fc7) and two light ones in torchvision's layouts. */
export const ENCODERS = ['vgg16', 'resnet18', 'mobilenetv3'] as const;
export type EncoderName = (typeof ENCODERS)[number];

/** `fcn8s`: the paper's cascade; `original`: the reference TF implementation's parallel head. */
export const FCN_HEADS = ['fcn8s', 'original'] as const;
export type FcnHead = (typeof FCN_HEADS)[number];

export interface Normalization {
  /** Each input channel becomes (pixel * scale - mean[c]) / std[c], inside the graph. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Where the convention comes from, e.g. "caffe-vgg16" or "torchvision". */
  source: string;
}

export interface FcnConfig {
  /** Absent in checkpoints made before the light encoders: VGG16. */
  encoder?: EncoderName;
  numClasses: number;
  height: number;
  width: number;
  widthMultiplier: number;
  head: FcnHead;
  /** The order the model's input channels come in; the graph never reorders them. */
  inputChannelOrder: 'BGR' | 'RGB';
  normalization: Normalization;
}

/** Caffe VGG16 (the paper's and the original's weights): BGR, ImageNet means, no scaling. */
export const CAFFE_VGG_NORMALIZATION: Normalization = {
  scale: 1,
  mean: [103.939, 116.779, 123.68],
  std: [1, 1, 1],
  source: 'caffe-vgg16',
};

/** torchvision (VGG16 import, and always ResNet18 / MobileNetV3): RGB scaled to 0-1, ImageNet mean and std. */
export const TORCHVISION_NORMALIZATION: Normalization = {
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  source: 'torchvision',
};

/** VGG16's five blocks: [channels, 3x3 convolutions], each followed by a 2x2 max-pool. */
export const VGG_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [64, 2],
  [128, 2],
  [256, 3],
  [512, 3],
  [512, 3],
];

/** conv1_1 .. conv5_3, the names the VGG16 import fills. */
export const VGG_CONV_LAYERS: readonly string[] = VGG_BLOCKS.flatMap(([, count], block) =>
  Array.from({ length: count }, (_, i) => `conv${block + 1}_${i + 1}`),
);

/** fc6 and fc7 as convolutions: a 7x7 one over pool5 and a 1x1 one, 4096 channels at width 1. */
const FC_CHANNELS = 4096;
const FC6_KERNEL = 7;

/**
 * Skip scaling before scoring (paper's "at-once" FCN-8s): pool4 × 0.01, pool3 × 0.0001, for VGG16's
 * unnormalised Caffe-scale features. The light encoders' features come out of (folded) BatchNorm at
 * unit scale, so their skips are not scaled.
 */
export const POOL4_SCALE = 0.01;
export const POOL3_SCALE = 0.0001;

/** The original head's fusion weights: up8(layer3) + 2·up16(layer4) + 4·up32(layer7). */
export const ORIGINAL_FUSION_WEIGHTS = { layer3: 1, layer4: 2, layer7: 4 } as const;

export type LayerInit = 'he' | 'zero' | 'bilinear' | 'truncnorm0.1';

/**
 * A layer with parameters: `conv` (bias; symmetric padding (k-1)/2 as torchvision's, which is SAME
 * at stride 1) or `deconv` (transposed, SAME, no bias). A depthwise conv has one k×k filter per
 * channel (inChannels = outChannels; tfjs kernel [k,k,C,1], ONNX Conv group = C).
 */
export interface LayerSpec {
  name: string;
  kind: 'conv' | 'deconv';
  kernel: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  bias: boolean;
  init: LayerInit;
  depthwise?: boolean;
}

export type Activation = 'relu' | 'hardswish';

/**
 * One op of the graph: reads named tensors, writes the tensor `output`. Every op keeps TensorFlow's
 * SAME padding, so each stage is an exact power-of-two fraction of the input and no crop is needed.
 */
export type FcnOp =
  /** x * scale / std[c] - mean[c] / std[c] on raw 0-255 pixels (normalizationAffine). */
  | { op: 'normalize'; input: string; output: string }
  /** Convolution plus bias, then its activation if any; `dropout` names the training-only dropout's seed. */
  | { op: 'conv'; layer: LayerSpec; input: string; output: string; activation?: Activation; dropout?: string }
  /** size×size max-pool, stride `stride ?? size`; SAME padding, or `pad` on every side (torchvision). */
  | { op: 'maxPool'; size: number; stride?: number; pad?: number; input: string; output: string }
  | { op: 'relu'; input: string; output: string }
  /**
   * MobileNetV3's squeeze-and-excitation: x · hardsigmoid(expand(relu(reduce(mean over H, W of x)))),
   * hardsigmoid(z) = min(max(z/6 + 1/2, 0), 1) as torchvision's.
   */
  | { op: 'squeezeExcite'; reduce: LayerSpec; expand: LayerSpec; input: string; output: string }
  /** Multiplication by a constant (the skip scales, the original head's fusion weights). */
  | { op: 'scale'; factor: number; input: string; output: string }
  /** Transposed convolution: output = input × layer.stride, kernel `2f - f mod 2`. */
  | { op: 'upsample'; layer: LayerSpec; input: string; output: string }
  | { op: 'add'; inputs: string[]; output: string };

/** An encoder output a head reads: its tensor, channel count and stride (input size / its size). */
export interface Feature {
  tensor: string;
  channels: number;
  stride: number;
}

/** The stride-8, -16 and -32 features, by their VGG16 names. */
export interface EncoderFeatureSet {
  /** Stride 8: VGG16 pool3, ResNet18 layer2, MobileNetV3 features.6. */
  pool3: Feature;
  /** Stride 16: VGG16 pool4, ResNet18 layer3, MobileNetV3 features.12. */
  pool4: Feature;
  /** Stride 32: VGG16 fc7 after ReLU (and dropout while training), ResNet18 layer4, MobileNetV3 features.16. */
  conv7: Feature;
}

/** An encoder's ops (from `normalized`), the features the heads read, and the skips' scales. */
export interface EncoderGraph {
  ops: FcnOp[];
  features: EncoderFeatureSet;
  skipScales: { pool4: number; pool3: number };
}

export interface FcnGraph {
  /** N×H×W×3 (tfjs) or 1×3×H×W (ONNX) raw 0-255 pixels in config.inputChannelOrder. */
  input: string;
  /** Normalisation and the encoder (VGG16 with fc6/fc7, ResNet18 or MobileNetV3), in evaluation order. */
  encoder: FcnOp[];
  /** The tensors the heads read. */
  features: EncoderFeatureSet;
  /** The head's ops, in evaluation order; reads `features`. */
  head: FcnOp[];
  /** The tensor holding the N×C logits at the input's size. */
  logits: string;
}

export function scaledChannels(channels: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(channels * widthMultiplier));
}

export function validateConfig(config: FcnConfig): void {
  const { height, width, numClasses, widthMultiplier } = config;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new UserError(`input size ${height}x${width} is not a positive integer size`);
  }
  if (height % 32 !== 0 || width % 32 !== 0) {
    throw new UserError(`input size ${height}x${width} (HxW): both sides must be divisible by 32`, {
      hint: `the nearest valid size is ${Math.max(32, Math.round(height / 32) * 32)}x${Math.max(32, Math.round(width / 32) * 32)}`,
    });
  }
  if (!Number.isInteger(numClasses) || numClasses < 2 || numClasses > 255) {
    throw new UserError(`number of classes must be an integer from 2 to 255, got ${numClasses}`);
  }
  if (!(widthMultiplier > 0 && widthMultiplier <= 1)) {
    throw new UserError(`width multiplier must be in (0, 1], got ${widthMultiplier}`);
  }
}

/** The normalisation as one multiply and one subtract per channel, the form both graphs compute. */
export function normalizationAffine(normalization: Normalization): { multiply: number[]; offset: number[] } {
  return {
    multiply: normalization.std.map((s) => normalization.scale / s),
    offset: normalization.mean.map((m, c) => m / normalization.std[c]!),
  };
}

export function convLayer(
  name: string,
  kernel: number,
  inChannels: number,
  outChannels: number,
  init: LayerInit,
  stride = 1,
): LayerSpec {
  return { name, kind: 'conv', kernel, inChannels, outChannels, stride, bias: true, init };
}

/** A per-channel upsampling by `factor` (kernel `2f - f mod 2`), initialised as bilinear interpolation. */
export function upsamplingLayer(name: string, factor: number, classes: number): LayerSpec {
  const kernel = kernelSizeForFactor(factor);
  return {
    name,
    kind: 'deconv',
    kernel,
    inChannels: classes,
    outChannels: classes,
    stride: factor,
    bias: false,
    init: 'bilinear',
  };
}

/** A layer op whose output tensor is named after the layer. */
function score(layer: LayerSpec, input: string): FcnOp {
  return { op: 'conv', layer, input, output: layer.name };
}

function upsample(layer: LayerSpec, input: string): FcnOp {
  return { op: 'upsample', layer, input, output: layer.name };
}

function vgg16Encoder(config: FcnConfig): EncoderGraph {
  const ops: FcnOp[] = [];
  const pools: Feature[] = [];
  let tensor = 'normalized';
  let inChannels = 3;
  VGG_BLOCKS.forEach(([channels, count], block) => {
    const out = scaledChannels(channels, config.widthMultiplier);
    for (let i = 1; i <= count; i++) {
      const layer = convLayer(`conv${block + 1}_${i}`, 3, inChannels, out, 'he');
      ops.push({ op: 'conv', layer, input: tensor, output: layer.name, activation: 'relu' });
      tensor = layer.name;
      inChannels = out;
    }
    const pool = `pool${block + 1}`;
    ops.push({ op: 'maxPool', size: 2, input: tensor, output: pool });
    pools.push({ tensor: pool, channels: out, stride: 2 ** (block + 1) });
    tensor = pool;
  });
  const fc = scaledChannels(FC_CHANNELS, config.widthMultiplier);
  const fc6 = convLayer('fc6', FC6_KERNEL, inChannels, fc, 'he');
  const fc7 = convLayer('fc7', 1, fc, fc, 'he');
  // The seed labels of the dropout masks are part of a training run's reproducibility: keep them.
  ops.push({ op: 'conv', layer: fc6, input: tensor, output: 'fc6', activation: 'relu', dropout: 'dropout6' });
  ops.push({ op: 'conv', layer: fc7, input: 'fc6', output: 'fc7', activation: 'relu', dropout: 'dropout7' });
  const pool5 = pools[4]!;
  return {
    ops,
    features: {
      pool3: pools[2]!,
      pool4: pools[3]!,
      conv7: { tensor: 'fc7', channels: fc, stride: pool5.stride },
    },
    skipScales: { pool4: POOL4_SCALE, pool3: POOL3_SCALE },
  };
}

/** The config's encoder (VGG16 when the config predates the choice). */
export function encoderOf(config: FcnConfig): EncoderName {
  return config.encoder ?? 'vgg16';
}

function encoder(config: FcnConfig): EncoderGraph {
  const name = encoderOf(config);
  const graph =
    name === 'resnet18'
      ? resNet18Encoder(config.widthMultiplier, 'normalized')
      : name === 'mobilenetv3'
        ? mobileNetV3Encoder(config.widthMultiplier, 'normalized')
        : vgg16Encoder(config);
  return { ...graph, ops: [{ op: 'normalize', input: 'image', output: 'normalized' }, ...graph.ops] };
}

/** `input` × factor as a new tensor `output`, or `input` itself when the factor is 1. */
function scaled(ops: FcnOp[], input: string, factor: number, output: string): string {
  if (factor === 1) return input;
  ops.push({ op: 'scale', factor, input, output });
  return output;
}

/**
 * The paper's cascade: conv7 scores x2, add pool4 × 0.01 scores, x2, add pool3 × 0.0001 scores, x8
 * (each factor the ratio of the feature strides; the skip scales are VGG16's, 1 for the light
 * encoders). Scoring starts at zero, as in the paper's solver.
 */
function paperHead(config: FcnConfig, { features, skipScales }: EncoderGraph): FcnOp[] {
  const { pool3, pool4, conv7 } = features;
  const classes = config.numClasses;
  const scoreFr = convLayer('score_fr', 1, conv7.channels, classes, 'zero');
  const upscore2 = upsamplingLayer('upscore2', conv7.stride / pool4.stride, classes);
  const scorePool4 = convLayer('score_pool4', 1, pool4.channels, classes, 'zero');
  const upscorePool4 = upsamplingLayer('upscore_pool4', pool4.stride / pool3.stride, classes);
  const scorePool3 = convLayer('score_pool3', 1, pool3.channels, classes, 'zero');
  const upscore8 = upsamplingLayer('upscore8', pool3.stride, classes);
  const ops: FcnOp[] = [score(scoreFr, conv7.tensor), upsample(upscore2, scoreFr.name)];
  ops.push(score(scorePool4, scaled(ops, pool4.tensor, skipScales.pool4, 'pool4_scaled')));
  ops.push({ op: 'add', inputs: [upscore2.name, scorePool4.name], output: 'fuse_pool4' });
  ops.push(upsample(upscorePool4, 'fuse_pool4'));
  ops.push(score(scorePool3, scaled(ops, pool3.tensor, skipScales.pool3, 'pool3_scaled')));
  ops.push({ op: 'add', inputs: [upscorePool4.name, scorePool3.name], output: 'fuse_pool3' });
  ops.push(upsample(upscore8, 'fuse_pool3'));
  return ops;
}

/**
 * The original head: pool3, pool4 and conv7 scored unscaled (truncated normal σ 0.1), each upsampled
 * straight to full size (x8, x16, x32), then summed with ORIGINAL_FUSION_WEIGHTS.
 */
function originalHead(config: FcnConfig, features: EncoderFeatureSet): FcnOp[] {
  const classes = config.numClasses;
  const branches = [
    { name: 'layer3', feature: features.pool3 },
    { name: 'layer4', feature: features.pool4 },
    { name: 'layer7', feature: features.conv7 },
  ] as const;
  const scores = branches.map(({ name, feature }) =>
    score(convLayer(`score_${name}`, 1, feature.channels, classes, 'truncnorm0.1'), feature.tensor),
  );
  // Scores first, then upsamplings: the layer table (and so the checkpoint order) lists them so.
  const upsamplings = branches.map(({ name, feature }) =>
    upsample(upsamplingLayer(`upscore_${name}`, feature.stride, classes), `score_${name}`),
  );
  const weighted = branches.map(({ name }): FcnOp | undefined =>
    ORIGINAL_FUSION_WEIGHTS[name] === 1
      ? undefined
      : {
          op: 'scale',
          factor: ORIGINAL_FUSION_WEIGHTS[name],
          input: `upscore_${name}`,
          output: `upscore_${name}_weighted`,
        },
  );
  const fused: FcnOp = {
    op: 'add',
    inputs: branches.map(({ name }, i) => weighted[i]?.output ?? `upscore_${name}`),
    output: 'fuse_layers',
  };
  return [...scores, ...upsamplings, ...weighted.filter((op) => op !== undefined), fused];
}

/** The whole network for a config: encoder, the config's head, and the names that connect them. */
export function fcnGraph(config: FcnConfig): FcnGraph {
  const encoderGraph = encoder(config);
  const head =
    config.head === 'fcn8s' ? paperHead(config, encoderGraph) : originalHead(config, encoderGraph.features);
  return {
    input: 'image',
    encoder: encoderGraph.ops,
    features: encoderGraph.features,
    head,
    logits: head.at(-1)!.output,
  };
}

/** The layers of `ops` in evaluation order (a squeeze-excitation has two). */
export function opLayers(ops: readonly FcnOp[]): LayerSpec[] {
  const layers: LayerSpec[] = [];
  for (const op of ops) {
    if (op.op === 'conv' || op.op === 'upsample') layers.push(op.layer);
    else if (op.op === 'squeezeExcite') layers.push(op.reduce, op.expand);
  }
  return layers;
}

/** The ordered layer table for a config: the encoder's (VGG16 with fc6/fc7 as convolutions), then the head's. */
export function fcnLayerSpecs(config: FcnConfig): LayerSpec[] {
  const graph = fcnGraph(config);
  return opLayers([...graph.encoder, ...graph.head]);
}

/** tfjs kernel shape: conv [k,k,in,out], depthwise [k,k,C,1], transposed conv [k,k,out,in]. */
export function kernelShape(spec: LayerSpec): [number, number, number, number] {
  if (spec.depthwise) return [spec.kernel, spec.kernel, spec.inChannels, 1];
  return spec.kind === 'conv'
    ? [spec.kernel, spec.kernel, spec.inChannels, spec.outChannels]
    : [spec.kernel, spec.kernel, spec.outChannels, spec.inChannels];
}

/** A parameter's name in checkpoints, tfjs variables and the VGG16 import: `<layer>/kernel|bias`. */
export function parameterName(layer: string, part: 'kernel' | 'bias'): string {
  return `${layer}/${part}`;
}

/** A layer's parameters by name, with their tfjs shapes. */
export function layerParameters(spec: LayerSpec): Array<{ name: string; shape: number[] }> {
  const parameters = [{ name: parameterName(spec.name, 'kernel'), shape: kernelShape(spec) as number[] }];
  if (spec.bias) parameters.push({ name: parameterName(spec.name, 'bias'), shape: [spec.outChannels] });
  return parameters;
}

export type NamedWeights = Map<string, { shape: number[]; values: Float32Array }>;
