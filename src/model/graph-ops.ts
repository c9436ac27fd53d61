// The vocabulary the architecture is written in: layers with parameters, the ops of the graph, the
// features an encoder hands to a head. architecture.ts (VGG16, the heads) and light-encoders.ts
// (ResNet18, MobileNetV3) both build graphs from these; architecture.ts re-exports them.

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

export function scaledChannels(channels: number, widthMultiplier: number): number {
  return Math.max(1, Math.round(channels * widthMultiplier));
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
