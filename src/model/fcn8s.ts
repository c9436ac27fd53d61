// FCN-8s on a VGG16 encoder (Long, Shelhamer & Darrell), in raw tfjs-core ops over named variables.
// Two heads: `fcn8s` (the paper's cascade: x2, add pool4 scores, x2, add pool3 scores, x8) and
// `original` (the reference TF implementation: pool3/pool4/conv7 scores each upsampled straight to
// full size by x8/x16/x32 and summed with weights 1, 2, 4). The layer table drives init, export and checks.

import { UserError } from '../system/errors.js';
import { bilinearKernel, kernelSizeForFactor } from './bilinear.js';
import type { ClassInfo } from './manifest.js';
import { deriveSeed, fillNormal, mulberry32 } from './random.js';
import { tf } from './tf.js';

export type FcnHead = 'fcn8s' | 'original';

export interface Normalization {
  /** Each input channel becomes (pixel * scale - mean[c]) / std[c], inside the graph. */
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Where the convention comes from, e.g. "caffe-vgg16" or "torchvision". */
  source: string;
}

export interface FcnConfig {
  numClasses: number;
  height: number;
  width: number;
  widthMultiplier: number;
  head: FcnHead;
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

/** torchvision / ONNX model zoo VGG16: RGB scaled to 0-1, ImageNet mean and std. */
export const TORCHVISION_NORMALIZATION: Normalization = {
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  source: 'torchvision',
};

/** Skip scaling before scoring (paper's "at-once" FCN-8s): pool4 × 0.01, pool3 × 0.0001. */
export const POOL4_SCALE = 0.01;
export const POOL3_SCALE = 0.0001;

export type LayerInit = 'he' | 'zero' | 'bilinear' | 'truncnorm0.1';

export interface LayerSpec {
  name: string;
  kind: 'conv' | 'deconv';
  kernel: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  bias: boolean;
  init: LayerInit;
}

/** The original's dropout on fc6/fc7 (keep-probability 0.5). */
export const DEFAULT_DROPOUT_RATE = 0.5;

export interface ForwardOptions {
  training?: boolean;
  /** Seeds dropout (training only), so a resumed run is bit-exact. */
  dropoutSeed?: number;
  /** Dropout rate after fc6 and fc7 while training (default 0.5, the original's; 0 turns it off). */
  dropoutRate?: number;
}

export interface EncoderFeatures {
  pool3: tf.Tensor4D;
  pool4: tf.Tensor4D;
  conv7: tf.Tensor4D;
}

export interface FcnModel {
  readonly config: FcnConfig;
  readonly classes: ClassInfo[];
  readonly layers: readonly LayerSpec[];
  /** Named variables: `<layer>/kernel` (tfjs layout) and `<layer>/bias`. */
  readonly params: Map<string, tf.Variable>;
  /** images: N×H×W×3 raw 0-255 pixels in config.inputChannelOrder; returns N×H×W×C logits. */
  forward(images: tf.Tensor4D, options?: ForwardOptions): tf.Tensor4D;
  /** The encoder's outputs the heads read (pool3, pool4 and conv7 = fc7 after ReLU and dropout). */
  encode(images: tf.Tensor4D, options?: ForwardOptions): EncoderFeatures;
  parameterCount(): number;
  dispose(): void;
}

const VGG_BLOCKS: Array<[number, number]> = [
  [64, 2],
  [128, 2],
  [256, 3],
  [512, 3],
  [512, 3],
];

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

/** The ordered layer table for a config: VGG16 convs, fc6/fc7 as convolutions, then the head. */
export function fcnLayerSpecs(config: FcnConfig): LayerSpec[] {
  const w = config.widthMultiplier;
  const classes = config.numClasses;
  const specs: LayerSpec[] = [];
  const conv = (
    name: string,
    kernel: number,
    inChannels: number,
    outChannels: number,
    init: LayerInit = 'he',
  ) => specs.push({ name, kind: 'conv', kernel, inChannels, outChannels, stride: 1, bias: true, init });
  const deconv = (name: string, factor: number, kernel: number) =>
    specs.push({
      name,
      kind: 'deconv',
      kernel,
      inChannels: classes,
      outChannels: classes,
      stride: factor,
      bias: false,
      init: 'bilinear',
    });
  let inChannels = 3;
  VGG_BLOCKS.forEach(([channels, count], block) => {
    const out = scaledChannels(channels, w);
    for (let i = 1; i <= count; i++) {
      conv(`conv${block + 1}_${i}`, 3, inChannels, out);
      inChannels = out;
    }
  });
  const fc = scaledChannels(4096, w);
  conv('fc6', 7, inChannels, fc);
  conv('fc7', 1, fc, fc);
  const pool3 = scaledChannels(256, w);
  const pool4 = scaledChannels(512, w);
  if (config.head === 'fcn8s') {
    // Scoring layers start at zero, as in the paper's solver set-up.
    conv('score_fr', 1, fc, classes, 'zero');
    deconv('upscore2', 2, 4);
    conv('score_pool4', 1, pool4, classes, 'zero');
    deconv('upscore_pool4', 2, 4);
    conv('score_pool3', 1, pool3, classes, 'zero');
    deconv('upscore8', 8, 16);
  } else {
    conv('score_layer3', 1, pool3, classes, 'truncnorm0.1');
    conv('score_layer4', 1, pool4, classes, 'truncnorm0.1');
    conv('score_layer7', 1, fc, classes, 'truncnorm0.1');
    deconv('upscore_layer3', 8, kernelSizeForFactor(8));
    deconv('upscore_layer4', 16, kernelSizeForFactor(16));
    deconv('upscore_layer7', 32, kernelSizeForFactor(32));
  }
  return specs;
}

/** tfjs kernel shape: conv [k,k,in,out], transposed conv [k,k,out,in]. */
export function kernelShape(spec: LayerSpec): [number, number, number, number] {
  return spec.kind === 'conv'
    ? [spec.kernel, spec.kernel, spec.inChannels, spec.outChannels]
    : [spec.kernel, spec.kernel, spec.outChannels, spec.inChannels];
}

function initialKernel(spec: LayerSpec, seed: number): Float32Array {
  const shape = kernelShape(spec);
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  switch (spec.init) {
    case 'bilinear':
      return bilinearKernel(spec.kernel, spec.outChannels);
    case 'zero':
      return new Float32Array(size);
    case 'truncnorm0.1':
      return fillNormal(new Float32Array(size), 0.1, mulberry32(deriveSeed(seed, spec.name)), true);
    case 'he':
      return fillNormal(
        new Float32Array(size),
        Math.sqrt(2 / (spec.kernel * spec.kernel * spec.inChannels)),
        mulberry32(deriveSeed(seed, spec.name)),
      );
  }
}

export type NamedWeights = Map<string, { shape: number[]; values: Float32Array }>;

/** Initial kernel (and zero bias) of one layer, by parameter name. */
function initialLayerWeights(spec: LayerSpec, seed: number): NamedWeights {
  const weights: NamedWeights = new Map();
  weights.set(`${spec.name}/kernel`, { shape: kernelShape(spec), values: initialKernel(spec, seed) });
  if (spec.bias)
    weights.set(`${spec.name}/bias`, {
      shape: [spec.outChannels],
      values: new Float32Array(spec.outChannels),
    });
  return weights;
}

/** Initial weights for every parameter, by name (fast: seeded fills, no tf random ops). */
export function initialWeights(config: FcnConfig, seed = 1): NamedWeights {
  const weights: NamedWeights = new Map();
  for (const spec of fcnLayerSpecs(config))
    for (const [name, entry] of initialLayerWeights(spec, seed)) weights.set(name, entry);
  return weights;
}

/** Default class table for `model init`: class0..N-1 with distinct colours. */
export function defaultClasses(numClasses: number): ClassInfo[] {
  return Array.from({ length: numClasses }, (_, id) => {
    const hue = (id * 137.508) % 360;
    return { id, name: `class${id}`, color: hslToRgb(hue, 0.65, 0.5), ignore: false };
  });
}

function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const k = (n: number) => (n + hue / 30) % 12;
  const a = saturation * Math.min(lightness, 1 - lightness);
  const f = (n: number) => lightness - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

export interface CreateOptions {
  seed?: number;
  classes?: ClassInfo[];
  /** Weights to use instead of the initialisers (e.g. from a checkpoint or a VGG16 import). */
  weights?: NamedWeights;
}

let modelInstances = 0;

export function createFcn8s(config: FcnConfig, options: CreateOptions = {}): FcnModel {
  validateConfig(config);
  const layers = fcnLayerSpecs(config);
  const classes = options.classes ?? defaultClasses(config.numClasses);
  if (classes.length !== config.numClasses) {
    throw new UserError(
      `the class table has ${classes.length} classes but the model has ${config.numClasses}`,
    );
  }
  const params = new Map<string, tf.Variable>();
  // tfjs variable names are global to the engine: prefix them so that several models can coexist.
  const instance = ++modelInstances;
  for (const spec of layers) {
    const given = options.weights;
    // Only layers without given weights are initialised: a width-1 He fill costs seconds.
    const needsInit = !given?.has(`${spec.name}/kernel`) || (spec.bias && !given.has(`${spec.name}/bias`));
    const initial = needsInit ? initialLayerWeights(spec, options.seed ?? 1) : undefined;
    const names = spec.bias ? [`${spec.name}/kernel`, `${spec.name}/bias`] : [`${spec.name}/kernel`];
    for (const name of names) {
      const expectedShape = name.endsWith('/kernel') ? kernelShape(spec) : [spec.outChannels];
      const source = given?.get(name) ?? initial?.get(name);
      if (!source) throw new Error(`no initial value for ${name}`);
      if (source.shape.join('x') !== expectedShape.join('x')) {
        throw new UserError(
          `weight ${name} has shape ${source.shape.join('x')}, the model needs ${expectedShape.join('x')}`,
        );
      }
      const initialValue = tf.tensor(source.values, source.shape, 'float32');
      params.set(name, tf.variable(initialValue, true, `fcn${instance}/${name}`));
      initialValue.dispose();
    }
  }
  return new Fcn8sModel(config, classes, layers, params);
}

class Fcn8sModel implements FcnModel {
  constructor(
    readonly config: FcnConfig,
    readonly classes: ClassInfo[],
    readonly layers: readonly LayerSpec[],
    readonly params: Map<string, tf.Variable>,
  ) {}

  private kernel(layer: string): tf.Tensor4D {
    return this.params.get(`${layer}/kernel`) as tf.Tensor4D;
  }

  private conv(x: tf.Tensor4D, layer: string, relu: boolean): tf.Tensor4D {
    const bias = this.params.get(`${layer}/bias`) as tf.Tensor1D;
    const y = tf.add(tf.conv2d(x, this.kernel(layer), 1, 'same'), bias) as tf.Tensor4D;
    return relu ? tf.relu(y) : y;
  }

  private upsample(x: tf.Tensor4D, layer: string, factor: number): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    return tf.conv2dTranspose(x, this.kernel(layer), [n, h * factor, w * factor, c], factor, 'same');
  }

  encode(images: tf.Tensor4D, options: ForwardOptions = {}): EncoderFeatures {
    const { normalization } = this.config;
    const training = options.training ?? false;
    const rate = options.dropoutRate ?? DEFAULT_DROPOUT_RATE;
    const dropout = (x: tf.Tensor4D, index: number): tf.Tensor4D =>
      training && rate > 0
        ? (tf.dropout(
            x,
            rate,
            undefined,
            deriveSeed(options.dropoutSeed ?? 0, `dropout${index}`),
          ) as tf.Tensor4D)
        : x;
    return tf.tidy(() => {
      const multiply = normalization.std.map((s) => normalization.scale / s);
      const offset = normalization.mean.map((m, c) => m / normalization.std[c]!);
      let x = tf.sub(tf.mul(images, tf.tensor1d(multiply)), tf.tensor1d(offset)) as tf.Tensor4D;
      const pools: tf.Tensor4D[] = [];
      VGG_BLOCKS.forEach(([, count], block) => {
        for (let i = 1; i <= count; i++) x = this.conv(x, `conv${block + 1}_${i}`, true);
        x = tf.maxPool(x, 2, 2, 'same');
        pools.push(x);
      });
      const fc6 = dropout(this.conv(x, 'fc6', true), 6);
      const conv7 = dropout(this.conv(fc6, 'fc7', true), 7);
      return { pool3: pools[2]!, pool4: pools[3]!, conv7 };
    });
  }

  forward(images: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor4D {
    return tf.tidy(() => {
      const { pool3, pool4, conv7 } = this.encode(images, options);
      if (this.config.head === 'fcn8s') {
        const upscore2 = this.upsample(this.conv(conv7, 'score_fr', false), 'upscore2', 2);
        const scorePool4 = this.conv(tf.mul(pool4, POOL4_SCALE) as tf.Tensor4D, 'score_pool4', false);
        const upscorePool4 = this.upsample(tf.add(upscore2, scorePool4) as tf.Tensor4D, 'upscore_pool4', 2);
        const scorePool3 = this.conv(tf.mul(pool3, POOL3_SCALE) as tf.Tensor4D, 'score_pool3', false);
        return this.upsample(tf.add(upscorePool4, scorePool3) as tf.Tensor4D, 'upscore8', 8);
      }
      // The original head: no skip scaling; each branch straight to full size, weighted 1, 2, 4.
      const up3 = this.upsample(this.conv(pool3, 'score_layer3', false), 'upscore_layer3', 8);
      const up4 = this.upsample(this.conv(pool4, 'score_layer4', false), 'upscore_layer4', 16);
      const up7 = this.upsample(this.conv(conv7, 'score_layer7', false), 'upscore_layer7', 32);
      return tf.addN([up3, tf.mul(up4, 2), tf.mul(up7, 4)]) as tf.Tensor4D;
    });
  }

  parameterCount(): number {
    let total = 0;
    for (const variable of this.params.values()) total += variable.size;
    return total;
  }

  dispose(): void {
    for (const variable of this.params.values()) variable.dispose();
    this.params.clear();
  }
}
