// The FCN-8s of architecture.ts in raw tfjs-core ops over named variables: createFcn8s makes the
// variables (given weights or the layer table's initialisers) and the model walks the graph.
// Every encoder's BatchNorm is folded into its convolutions (architecture.ts), so training needs
// no batch statistics: the small-batch treatment is frozen statistics, absorbed into conv weights.

import { UserError } from '../system/errors.js';
import {
  type Activation,
  type FcnConfig,
  type FcnOp,
  fcnGraph,
  fcnLayerSpecs,
  kernelShape,
  type LayerSpec,
  layerParameters,
  type NamedWeights,
  normalizationAffine,
  parameterName,
  validateConfig,
} from './architecture.js';
import { bilinearKernel } from './bilinear.js';
import type { ClassInfo } from './manifest.js';
import { deriveSeed, fillNormal, mulberry32 } from './random.js';
import { tf } from './tf.js';

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

/**
 * The upsampling op of every transposed convolution here (the heads and `edgeseg upscale`): stride
 * `factor`, SAME padding, so the output is exactly `factor` times the input on both sides.
 */
export function upsampleTransposed(x: tf.Tensor4D, kernel: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const channels = kernel.shape[2];
  return tf.conv2dTranspose(x, kernel, [n, h * factor, w * factor, channels], factor, 'same');
}

/** A layer's initial kernel (tfjs layout) from its `init`; random fills are seeded per layer name. */
export function initialKernel(spec: LayerSpec, seed: number): Float32Array {
  const size = kernelShape(spec).reduce((a, b) => a * b, 1);
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
        Math.sqrt(2 / (spec.kernel * spec.kernel * (spec.depthwise ? 1 : spec.inChannels))),
        mulberry32(deriveSeed(seed, spec.name)),
      );
  }
}

/** Initial kernel (and zero bias) of one layer, by parameter name. */
function initialLayerWeights(spec: LayerSpec, seed: number): NamedWeights {
  const weights: NamedWeights = new Map();
  const [kernel, bias] = layerParameters(spec);
  weights.set(kernel!.name, { shape: kernel!.shape, values: initialKernel(spec, seed) });
  if (bias) weights.set(bias.name, { shape: bias.shape, values: new Float32Array(spec.outChannels) });
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

/** A conv layer's convolution (no bias): torchvision's symmetric padding, which at stride 1 is SAME. */
function convolve(x: tf.Tensor4D, kernel: tf.Tensor4D, layer: LayerSpec): tf.Tensor4D {
  const pad = layer.stride === 1 ? 'same' : (layer.kernel - 1) / 2;
  return layer.depthwise
    ? tf.depthwiseConv2d(x, kernel, layer.stride, pad)
    : tf.conv2d(x, kernel, layer.stride, pad);
}

/** min(max(x/6 + 1/2, 0), 1), as torchvision's Hardsigmoid and ONNX HardSigmoid(1/6, 1/2). */
function hardSigmoid(x: tf.Tensor4D): tf.Tensor4D {
  return tf.div(tf.relu6(tf.add(x, 3)), 6) as tf.Tensor4D;
}

function activate(x: tf.Tensor4D, activation: Activation): tf.Tensor4D {
  return activation === 'relu' ? tf.relu(x) : (tf.mul(x, hardSigmoid(x)) as tf.Tensor4D);
}

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
    const parameters = layerParameters(spec);
    const needsInit = parameters.some(({ name }) => !given?.has(name));
    const initial = needsInit ? initialLayerWeights(spec, options.seed ?? 1) : undefined;
    for (const { name, shape: expectedShape } of parameters) {
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
  private readonly graph;

  constructor(
    readonly config: FcnConfig,
    readonly classes: ClassInfo[],
    readonly layers: readonly LayerSpec[],
    readonly params: Map<string, tf.Variable>,
  ) {
    this.graph = fcnGraph(config);
  }

  /** Evaluates `ops` in order; each op reads tensors already in `tensors` and adds its output. */
  private run(ops: readonly FcnOp[], tensors: Map<string, tf.Tensor4D>, options: ForwardOptions): void {
    const training = options.training ?? false;
    const rate = options.dropoutRate ?? DEFAULT_DROPOUT_RATE;
    const read = (name: string) => tensors.get(name)!;
    const kernel = (layer: LayerSpec) => this.params.get(parameterName(layer.name, 'kernel')) as tf.Tensor4D;
    const bias = (layer: LayerSpec) => this.params.get(parameterName(layer.name, 'bias')) as tf.Tensor1D;
    for (const op of ops) {
      let y: tf.Tensor4D;
      switch (op.op) {
        case 'normalize': {
          const { multiply, offset } = normalizationAffine(this.config.normalization);
          y = tf.sub(tf.mul(read(op.input), tf.tensor1d(multiply)), tf.tensor1d(offset)) as tf.Tensor4D;
          break;
        }
        case 'conv': {
          y = tf.add(convolve(read(op.input), kernel(op.layer), op.layer), bias(op.layer)) as tf.Tensor4D;
          if (op.activation) y = activate(y, op.activation);
          if (op.dropout && training && rate > 0)
            y = tf.dropout(
              y,
              rate,
              undefined,
              deriveSeed(options.dropoutSeed ?? 0, op.dropout),
            ) as tf.Tensor4D;
          break;
        }
        case 'maxPool':
          y = tf.maxPool(read(op.input), op.size, op.stride ?? op.size, op.pad ?? 'same');
          break;
        case 'relu':
          y = tf.relu(read(op.input));
          break;
        case 'squeezeExcite': {
          const x = read(op.input);
          const pooled = tf.mean(x, [1, 2], true) as tf.Tensor4D;
          const reduced = tf.relu(tf.add(convolve(pooled, kernel(op.reduce), op.reduce), bias(op.reduce)));
          const expanded = tf.add(
            convolve(reduced as tf.Tensor4D, kernel(op.expand), op.expand),
            bias(op.expand),
          );
          y = tf.mul(x, hardSigmoid(expanded as tf.Tensor4D)) as tf.Tensor4D;
          break;
        }
        case 'scale':
          y = tf.mul(read(op.input), op.factor) as tf.Tensor4D;
          break;
        case 'upsample':
          y = upsampleTransposed(read(op.input), kernel(op.layer), op.layer.stride);
          break;
        case 'add': {
          const inputs = op.inputs.map(read);
          y = (inputs.length === 2 ? tf.add(inputs[0]!, inputs[1]!) : tf.addN(inputs)) as tf.Tensor4D;
          break;
        }
      }
      tensors.set(op.output, y);
    }
  }

  encode(images: tf.Tensor4D, options: ForwardOptions = {}): EncoderFeatures {
    return tf.tidy(() => {
      const tensors = new Map([[this.graph.input, images]]);
      this.run(this.graph.encoder, tensors, options);
      const { features } = this.graph;
      return {
        pool3: tensors.get(features.pool3.tensor)!,
        pool4: tensors.get(features.pool4.tensor)!,
        conv7: tensors.get(features.conv7.tensor)!,
      };
    });
  }

  forward(images: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor4D {
    return tf.tidy(() => {
      const tensors = new Map([[this.graph.input, images]]);
      this.run([...this.graph.encoder, ...this.graph.head], tensors, options);
      return tensors.get(this.graph.logits)!;
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
