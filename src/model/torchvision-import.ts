// ImageNet encoder weights for ResNet18 and MobileNetV3-Large from torchvision models exported to ONNX
// (torch.onnx.export in eval mode, which folds each BatchNorm into the Conv before it). Conv nodes are
// matched to the encoder's layers by torchvision module path, recovered from the node names
// ("/layer2/layer2.0/downsample/downsample.0/Conv" → layer2.0.downsample.0); shapes, strides and
// groups are checked, and the first layer that does not match is named.

import { FileError } from '../system/errors.js';
import {
  type EncoderName,
  encoderOf,
  type FcnConfig,
  fcnGraph,
  type LayerSpec,
  type NamedWeights,
  opLayers,
  parameterName,
} from './architecture.js';
import { dimsOf, type OnnxNode, readOnnxGraph, sameShape, TensorReader, tensorOf } from './onnx-weights.js';
import { oihwToHwio } from './vgg16-import.js';

export interface TorchvisionImport {
  /** tfjs-layout kernels and biases of every encoder layer. */
  weights: NamedWeights;
  /** ONNX node each layer came from (for provenance). */
  sourceNodes: Record<string, string>;
}

const TORCHVISION_NAMES: Record<Exclude<EncoderName, 'vgg16'>, string> = {
  resnet18: 'resnet18',
  mobilenetv3: 'mobilenet_v3_large',
};

/**
 * The torchvision module path of a node from torch.onnx.export's scoped name: each scope repeats its
 * parent's name ("layer2", "layer2.0", "downsample", "downsample.0"), so a scope that extends the
 * previous one replaces it.
 */
export function modulePath(nodeName: string): string {
  const scopes = nodeName.split('/').filter((part) => part.length > 0);
  scopes.pop(); // the op itself, e.g. "Conv" or "Conv_3"
  const path: string[] = [];
  for (const scope of scopes) {
    if (path.length > 0 && scope.startsWith(`${path.at(-1)}.`)) path[path.length - 1] = scope;
    else path.push(scope);
  }
  return path.join('.');
}

function intAttribute(node: OnnxNode, name: string, fallback: number): number[] {
  const attribute = node.attribute?.find((a) => a.name === name);
  if (!attribute) return [fallback, fallback];
  return attribute.ints && attribute.ints.length > 0 ? attribute.ints.map(Number) : [Number(attribute.i)];
}

/** Reads the encoder weights of `config` (resnet18 or mobilenetv3, at its width) from `path`. */
export async function importTorchvisionOnnx(path: string, config: FcnConfig): Promise<TorchvisionImport> {
  const encoder = encoderOf(config);
  if (encoder === 'vgg16') throw new Error('VGG16 files go through importVgg16Onnx');
  const torchvisionName = TORCHVISION_NAMES[encoder];
  const { nodes, tensors } = await readOnnxGraph(path, torchvisionName);
  const exportHint = `export torchvision.models.${torchvisionName}() in eval mode with torch.onnx.export (see docs/model.md)`;
  const batchNorm = nodes.find((n) => n.opType === 'BatchNormalization');
  if (batchNorm)
    throw new FileError(path, `has an unfolded BatchNormalization (node "${batchNorm.name}")`, {
      hint: `${exportHint}: call model.eval() first, so torch folds BatchNorm into the convolutions`,
    });
  const convByPath = new Map<string, OnnxNode>();
  for (const node of nodes) if (node.opType === 'Conv') convByPath.set(modulePath(node.name ?? ''), node);

  const layers = opLayers(fcnGraph(config).encoder);
  const known = new Set(layers.map((layer) => layer.name));
  const describe = `${torchvisionName} at width ${config.widthMultiplier}`;
  const weights: NamedWeights = new Map();
  const sourceNodes: Record<string, string> = {};
  const reader = new TensorReader(path);
  try {
    for (const layer of layers) {
      const node = convByPath.get(layer.name);
      if (!node)
        throw new FileError(
          path,
          `layer ${layer.name}: the file has no convolution named so (not ${describe}?)`,
          {
            hint: exportHint,
          },
        );
      readLayer(path, layer, node, describe, tensors, reader, weights);
      sourceNodes[layer.name] = node.name ?? layer.name;
    }
    const extra = [...convByPath.keys()].find((name) => !known.has(name));
    if (extra)
      throw new FileError(
        path,
        `has a convolution ${extra} that ${torchvisionName}'s encoder does not have`,
        {
          hint: exportHint,
        },
      );
    return { weights, sourceNodes };
  } finally {
    reader.close();
  }
}

function readLayer(
  path: string,
  layer: LayerSpec,
  node: OnnxNode,
  describe: string,
  tensors: Parameters<typeof tensorOf>[0],
  reader: TensorReader,
  weights: NamedWeights,
): void {
  const mismatch = (what: string, actual: unknown, expected: unknown) =>
    new FileError(
      path,
      `layer ${layer.name} (ONNX node "${node.name ?? '?'}"): ${what} is ${actual}, expected ${expected} for ${describe}`,
      {
        hint: 'pass the --width the file was made for (torchvision models are width 1) and the matching --encoder',
      },
    );
  const { kernel: k, inChannels, outChannels } = layer;
  const groups = layer.depthwise ? inChannels : 1;
  const kernel = tensorOf(tensors, node.input?.[1], path, layer.name);
  const expected = [outChannels, inChannels / groups, k, k];
  if (!sameShape(dimsOf(kernel), expected))
    throw mismatch('weight', dimsOf(kernel).join('x'), expected.join('x'));
  const group = intAttribute(node, 'group', 1)[0]!;
  if (group !== groups) throw mismatch('group', group, groups);
  const strides = intAttribute(node, 'strides', 1);
  if (strides.some((s) => s !== layer.stride)) throw mismatch('stride', strides.join('x'), layer.stride);
  const pads = intAttribute(node, 'pads', 0);
  if (pads.some((p) => p !== (k - 1) / 2)) throw mismatch('padding', pads.join(','), (k - 1) / 2);
  const biasName = node.input?.[2];
  const bias = biasName ? reader.values(tensorOf(tensors, biasName, path, `${layer.name} bias`)) : undefined;
  if (bias && bias.length !== outChannels) throw mismatch('bias length', bias.length, outChannels);
  weights.set(parameterName(layer.name, 'kernel'), {
    shape: layer.depthwise ? [k, k, inChannels, 1] : [k, k, inChannels, outChannels],
    // A depthwise [C,1,k,k] read as [out C, in 1] gives [k,k,1,C]: the same bytes as [k,k,C,1].
    values: oihwToHwio(reader.values(kernel), outChannels, inChannels / groups, k),
  });
  weights.set(parameterName(layer.name, 'bias'), {
    shape: [outChannels],
    values: bias ?? new Float32Array(outChannels),
  });
}
