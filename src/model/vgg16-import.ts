// VGG16 encoder weights from an ONNX file (torchvision's vgg16 exported with torch.onnx, or the ONNX
// model zoo's vgg16): the 13 convolutions and the first two fully-connected layers, which become
// FCN's fc6 (7x7 convolution) and fc7 (1x1 convolution). Shapes are checked against the model's width.

import { FileError } from '../system/errors.js';
import {
  type FcnConfig,
  fcnLayerSpecs,
  type LayerSpec,
  type NamedWeights,
  parameterName,
  VGG_CONV_LAYERS,
} from './architecture.js';
import {
  dimsOf,
  type OnnxNode as Node,
  readOnnxGraph,
  sameShape,
  type OnnxTensor as Tensor,
  TensorReader,
  tensorOf,
} from './onnx-weights.js';

export interface Vgg16Import {
  /** tfjs-layout kernels and biases for conv1_1..conv5_3, fc6 and fc7. */
  weights: NamedWeights;
  /** ONNX node names the layers came from, in order (for provenance and messages). */
  sourceNodes: Record<string, string>;
}

/** A fully-connected layer as found in the graph: weight W and how to read it. */
interface DenseLayer {
  node: Node;
  weight: Tensor;
  bias: Tensor | undefined;
  /** true when W is [out, in] (Gemm transB=1, torchvision), false when [in, out] (MatMul, Gemm transB=0). */
  outMajor: boolean;
  alpha: number;
  beta: number;
}

/**
 * Reads VGG16 weights for `config`'s width from `path`. A file whose layer shapes do not match is
 * refused with a FileError naming the first mismatching layer and both shapes.
 */
export async function importVgg16Onnx(path: string, config: FcnConfig): Promise<Vgg16Import> {
  const { nodes, tensors } = await readOnnxGraph(path, 'VGG16');
  const banned = nodes.find((n) => n.opType === 'BatchNormalization');
  if (banned)
    throw new FileError(path, `has BatchNormalization (node "${banned.name}"): this is vgg16_bn, not VGG16`, {
      hint: "use torchvision's plain vgg16 (or the ONNX model zoo's vgg16)",
    });

  const specs = new Map<string, LayerSpec>(fcnLayerSpecs(config).map((s) => [s.name, s]));
  const weights: NamedWeights = new Map();
  const sourceNodes: Record<string, string> = {};
  const reader = new TensorReader(path);
  const mismatch = (layer: string, node: Node, what: string, actual: number[], expected: number[]) =>
    new FileError(
      path,
      `layer ${layer} (ONNX node "${node.name ?? '?'}"): ${what} is ${actual.join('x')}, ` +
        `expected ${expected.join('x')} for VGG16 at width ${config.widthMultiplier}`,
      { hint: 'pass the --width the file was made for, or use an unmodified VGG16 (width 1)' },
    );

  try {
    const convNodes = nodes.filter((n) => n.opType === 'Conv');
    for (const [index, layer] of VGG_CONV_LAYERS.entries()) {
      const node = convNodes[index];
      if (!node)
        throw new FileError(
          path,
          `has ${convNodes.length} convolutions; VGG16 has ${VGG_CONV_LAYERS.length} (layer ${layer} is missing)`,
        );
      const spec = specs.get(layer)!;
      const kernel = tensorOf(tensors, node.input?.[1], path, layer);
      const expected = [spec.outChannels, spec.inChannels, 3, 3];
      if (!sameShape(dimsOf(kernel), expected))
        throw mismatch(layer, node, 'weight', dimsOf(kernel), expected);
      const group = node.attribute?.find((a) => a.name === 'group');
      if (group && Number(group.i) !== 1) throw new FileError(path, `layer ${layer}: grouped convolution`);
      const bias = tensorOf(tensors, node.input?.[2], path, `${layer} bias`);
      if (!sameShape(dimsOf(bias), [spec.outChannels]))
        throw mismatch(layer, node, 'bias', dimsOf(bias), [spec.outChannels]);
      weights.set(parameterName(layer, 'kernel'), {
        shape: [3, 3, spec.inChannels, spec.outChannels],
        values: oihwToHwio(reader.values(kernel), spec.outChannels, spec.inChannels, 3),
      });
      weights.set(parameterName(layer, 'bias'), { shape: [spec.outChannels], values: reader.values(bias) });
      sourceNodes[layer] = node.name ?? `Conv #${index + 1}`;
    }
    if (convNodes.length > VGG_CONV_LAYERS.length)
      throw new FileError(
        path,
        `has ${convNodes.length} convolutions; VGG16 has ${VGG_CONV_LAYERS.length} (is this VGG19?)`,
      );

    const dense = denseLayers(nodes, tensors);
    const fc6 = specs.get('fc6')!;
    const fc7 = specs.get('fc7')!;
    const pool5Channels = fc6.inChannels;
    for (const [index, layer] of (['fc6', 'fc7'] as const).entries()) {
      const found = dense[index];
      if (!found)
        throw new FileError(
          path,
          `has ${dense.length} fully-connected layers before the classifier; VGG16 has 3`,
          {
            hint: 'export the whole torchvision vgg16 (features and classifier)',
          },
        );
      const spec = layer === 'fc6' ? fc6 : fc7;
      const inputs = layer === 'fc6' ? pool5Channels * 49 : fc7.inChannels;
      const expected = found.outMajor ? [spec.outChannels, inputs] : [inputs, spec.outChannels];
      const actual = dimsOf(found.weight);
      if (!sameShape(actual, expected)) throw mismatch(layer, found.node, 'weight', actual, expected);
      const values = reader.values(found.weight);
      const kernel =
        layer === 'fc6'
          ? denseToConv7x7(values, spec.outChannels, pool5Channels, found.outMajor)
          : found.outMajor
            ? transpose2d(values, spec.outChannels, inputs)
            : values;
      if (found.alpha !== 1) for (let i = 0; i < kernel.length; i++) kernel[i]! *= found.alpha;
      const bias = found.bias ? reader.values(found.bias) : new Float32Array(spec.outChannels);
      if (!sameShape([bias.length], [spec.outChannels]))
        throw mismatch(layer, found.node, 'bias', [bias.length], [spec.outChannels]);
      if (found.beta !== 1) for (let i = 0; i < bias.length; i++) bias[i]! *= found.beta;
      weights.set(parameterName(layer, 'kernel'), {
        shape: [spec.kernel, spec.kernel, spec.inChannels, spec.outChannels],
        values: kernel,
      });
      weights.set(parameterName(layer, 'bias'), { shape: [spec.outChannels], values: bias });
      sourceNodes[layer] = found.node.name ?? `${found.node.opType} #${index + 1}`;
    }
    return { weights, sourceNodes };
  } finally {
    // External-data files stay open across tensors; close them however the import ends.
    reader.close();
  }
}

/** Gemm nodes, or MatMul followed by an Add of a constant bias, in graph order. */
function denseLayers(nodes: Node[], tensors: Map<string, Tensor>): DenseLayer[] {
  const found: DenseLayer[] = [];
  for (const node of nodes) {
    const attr = (name: string) => node.attribute?.find((a) => a.name === name);
    if (node.opType === 'Gemm') {
      const weight = tensors.get(node.input?.[1] ?? '');
      if (!weight || Number(attr('transA')?.i ?? 0) !== 0) continue;
      found.push({
        node,
        weight,
        bias: tensors.get(node.input?.[2] ?? ''),
        outMajor: Number(attr('transB')?.i ?? 0) === 1,
        alpha: attr('alpha')?.f ?? 1,
        beta: attr('beta')?.f ?? 1,
      });
    } else if (node.opType === 'MatMul') {
      const weight = tensors.get(node.input?.[1] ?? '');
      if (!weight) continue;
      const output = node.output?.[0];
      const add = nodes.find((n) => n.opType === 'Add' && n.input?.includes(output ?? ''));
      const biasName = add?.input?.find((name) => name !== output);
      found.push({
        node,
        weight,
        bias: biasName ? tensors.get(biasName) : undefined,
        outMajor: false,
        alpha: 1,
        beta: 1,
      });
    }
  }
  return found;
}

/** ONNX Conv weight [out, in, k, k] → tfjs conv kernel [k, k, in, out]. */
export function oihwToHwio(values: Float32Array, outC: number, inC: number, k: number): Float32Array {
  const result = new Float32Array(values.length);
  for (let o = 0; o < outC; o++)
    for (let i = 0; i < inC; i++)
      for (let y = 0; y < k; y++)
        for (let x = 0; x < k; x++)
          result[((y * k + x) * inC + i) * outC + o] = values[((o * inC + i) * k + y) * k + x]!;
  return result;
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const result = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) result[c * rows + r] = values[r * cols + c]!;
  return result;
}

/**
 * fc6 as a 7x7 convolution. torchvision flattens pool5 (NCHW [C,7,7]) channel-major, so input
 * feature c*49 + y*7 + x is pixel (y, x) of channel c; the tfjs kernel is [7, 7, C, out].
 */
export function denseToConv7x7(
  values: Float32Array,
  outC: number,
  channels: number,
  outMajor: boolean,
): Float32Array {
  const inputs = channels * 49;
  const result = new Float32Array(values.length);
  for (let c = 0; c < channels; c++)
    for (let p = 0; p < 49; p++) {
      const feature = c * 49 + p;
      const target = (p * channels + c) * outC;
      if (outMajor) for (let o = 0; o < outC; o++) result[target + o] = values[o * inputs + feature]!;
      else result.set(values.subarray(feature * outC, (feature + 1) * outC), target);
    }
  return result;
}
