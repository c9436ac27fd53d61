// The light encoders of architecture.ts in torchvision's layouts, so that an ImageNet model exported
// from torchvision maps onto them layer by layer: ResNet18 (conv1, layer1..layer4) and
// MobileNetV3-Large (`features`). Layers are named by torchvision's module paths; BatchNorm is folded
// into the convolution before it (torch.onnx.export does the same), so every conv has a bias.

import {
  type Activation,
  convLayer,
  type EncoderGraph,
  type FcnOp,
  type Feature,
  type LayerSpec,
  scaledChannels,
} from './architecture.js';

/** A conv op whose output tensor is named after its layer. */
function conv(layer: LayerSpec, input: string, activation?: Activation): FcnOp {
  return activation
    ? { op: 'conv', layer, input, output: layer.name, activation }
    : { op: 'conv', layer, input, output: layer.name };
}

/** Light encoders have no fc6/fc7 and unscaled skips. */
const UNSCALED_SKIPS = { pool4: 1, pool3: 1 } as const;

/** ResNet18's four stages: [channels, stride of the first block]; two BasicBlocks each. */
export const RESNET18_STAGES: ReadonlyArray<readonly [number, number]> = [
  [64, 1],
  [128, 2],
  [256, 2],
  [512, 2],
];

/**
 * torchvision's ResNet18. Trained from scratch, each block's conv2 starts at zero (torchvision's
 * `zero_init_residual`, Goyal et al. 2017), so every residual block starts as the identity: with
 * BatchNorm folded there is no normalisation left to keep 8 stacked blocks' activations in range.
 */
export function resNet18Encoder(widthMultiplier: number, input: string): EncoderGraph {
  const ops: FcnOp[] = [];
  const stem = scaledChannels(64, widthMultiplier);
  const conv1 = convLayer('conv1', 7, 3, stem, 'he', 2);
  ops.push(conv(conv1, input, 'relu'));
  ops.push({ op: 'maxPool', size: 3, stride: 2, pad: 1, input: conv1.name, output: 'maxpool' });
  let tensor = 'maxpool';
  let inChannels = stem;
  let stride = 4;
  const stageOutputs: Feature[] = [];
  RESNET18_STAGES.forEach(([channels, firstStride], stage) => {
    const out = scaledChannels(channels, widthMultiplier);
    for (let block = 0; block < 2; block++) {
      const name = `layer${stage + 1}.${block}`;
      const blockStride = block === 0 ? firstStride : 1;
      const a = convLayer(`${name}.conv1`, 3, inChannels, out, 'he', blockStride);
      const b = convLayer(`${name}.conv2`, 3, out, out, 'zero');
      ops.push(conv(a, tensor, 'relu'), conv(b, a.name));
      let identity = tensor;
      if (blockStride !== 1 || inChannels !== out) {
        const downsample = convLayer(`${name}.downsample.0`, 1, inChannels, out, 'he', blockStride);
        ops.push(conv(downsample, tensor));
        identity = downsample.name;
      }
      ops.push({ op: 'add', inputs: [b.name, identity], output: `${name}.sum` });
      ops.push({ op: 'relu', input: `${name}.sum`, output: name });
      tensor = name;
      inChannels = out;
      stride *= blockStride;
    }
    stageOutputs.push({ tensor, channels: out, stride });
  });
  return {
    ops,
    features: { pool3: stageOutputs[1]!, pool4: stageOutputs[2]!, conv7: stageOutputs[3]! },
    skipScales: UNSCALED_SKIPS,
  };
}

/** torchvision's `_make_divisible`: channels rounded to a multiple of 8, never 10 % below `value`. */
export function makeDivisible(value: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

interface InvertedResidual {
  kernel: number;
  expanded: number;
  out: number;
  squeezeExcite: boolean;
  activation: Activation;
  stride: number;
}

const RE = 'relu';
const HS = 'hardswish';
/** MobileNetV3-Large's bneck table (torchvision `_mobilenet_v3_conf`), features.1 .. features.15. */
const MOBILENETV3_LARGE: ReadonlyArray<
  readonly [kernel: number, expanded: number, out: number, se: boolean, act: Activation, stride: number]
> = [
  [3, 16, 16, false, RE, 1],
  [3, 64, 24, false, RE, 2],
  [3, 72, 24, false, RE, 1],
  [5, 72, 40, true, RE, 2],
  [5, 120, 40, true, RE, 1],
  [5, 120, 40, true, RE, 1],
  [3, 240, 80, false, HS, 2],
  [3, 200, 80, false, HS, 1],
  [3, 184, 80, false, HS, 1],
  [3, 184, 80, false, HS, 1],
  [3, 480, 112, true, HS, 1],
  [3, 672, 112, true, HS, 1],
  [5, 672, 160, true, HS, 2],
  [5, 960, 160, true, HS, 1],
  [5, 960, 160, true, HS, 1],
];

/** The blocks whose outputs the heads read: the last block at stride 8, 16 and 32. */
const MOBILENETV3_FEATURE_BLOCKS = { pool3: 6, pool4: 12, conv7: 16 } as const;

/**
 * torchvision's MobileNetV3-Large `features` (width `widthMultiplier`, channels rounded as
 * torchvision's `width_mult`): features.0 (3x3 s2, hardswish), 15 inverted residual blocks
 * (1x1 expansion unless expanded = input, depthwise k×k, optional squeeze-excitation, linear 1x1
 * projection, identity added at stride 1 when channels match) and features.16 (1x1 to 6× channels,
 * hardswish). Trained from scratch, the projections of residual blocks start at zero, so those
 * blocks start as the identity (see resNet18Encoder).
 */
export function mobileNetV3Encoder(widthMultiplier: number, input: string): EncoderGraph {
  const adjust = (channels: number) => makeDivisible(channels * widthMultiplier);
  const blocks: InvertedResidual[] = MOBILENETV3_LARGE.map(([kernel, expanded, out, se, act, stride]) => ({
    kernel,
    expanded: adjust(expanded),
    out: adjust(out),
    squeezeExcite: se,
    activation: act,
    stride,
  }));
  const ops: FcnOp[] = [];
  const stem = convLayer('features.0.0', 3, 3, adjust(16), 'he', 2);
  ops.push(conv(stem, input, HS));
  const outputs: Feature[] = [{ tensor: stem.name, channels: stem.outChannels, stride: 2 }];
  let tensor = stem.name;
  let inChannels = stem.outChannels;
  let stride = 2;
  blocks.forEach((block, index) => {
    const name = `features.${index + 1}`;
    let part = 0;
    let x = tensor;
    if (block.expanded !== inChannels) {
      const expand = convLayer(`${name}.block.${part++}.0`, 1, inChannels, block.expanded, 'he');
      ops.push(conv(expand, x, block.activation));
      x = expand.name;
    }
    const depthwise: LayerSpec = {
      ...convLayer(
        `${name}.block.${part++}.0`,
        block.kernel,
        block.expanded,
        block.expanded,
        'he',
        block.stride,
      ),
      depthwise: true,
    };
    ops.push(conv(depthwise, x, block.activation));
    x = depthwise.name;
    if (block.squeezeExcite) {
      const squeeze = makeDivisible(Math.floor(block.expanded / 4));
      const se = `${name}.block.${part++}`;
      const reduce = convLayer(`${se}.fc1`, 1, block.expanded, squeeze, 'he');
      const expand = convLayer(`${se}.fc2`, 1, squeeze, block.expanded, 'he');
      ops.push({ op: 'squeezeExcite', reduce, expand, input: x, output: se });
      x = se;
    }
    const residual = block.stride === 1 && inChannels === block.out;
    const project = convLayer(
      `${name}.block.${part}.0`,
      1,
      block.expanded,
      block.out,
      residual ? 'zero' : 'he',
    );
    ops.push(conv(project, x));
    if (residual) ops.push({ op: 'add', inputs: [project.name, tensor], output: name });
    tensor = residual ? name : project.name;
    inChannels = block.out;
    stride *= block.stride;
    outputs.push({ tensor, channels: inChannels, stride });
  });
  const last = convLayer('features.16.0', 1, inChannels, 6 * inChannels, 'he');
  ops.push(conv(last, tensor, HS));
  outputs.push({ tensor: last.name, channels: last.outChannels, stride });
  const { pool3, pool4, conv7 } = MOBILENETV3_FEATURE_BLOCKS;
  return {
    ops,
    features: { pool3: outputs[pool3]!, pool4: outputs[pool4]!, conv7: outputs[conv7]! },
    skipScales: UNSCALED_SKIPS,
  };
}
