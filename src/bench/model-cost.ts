// What a model costs per frame, read from its ONNX graph (any model: edgeseg's FCN-8s, a quantized
// QDQ copy, a bring-your-own torchvision network): parameters of its convolutions and matrix
// products, and forward FLOPs (2 per multiply-add), with the tensor shapes from one onnxruntime run.

import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import { onnx } from '../export/onnx-graph.js';
import { floatOutput, type ModelProto, type NodeProto, OnnxModelView } from '../quantize/onnx-model.js';

export interface ModelCost {
  /** Elements of the weights and biases of every Conv, ConvTranspose, Gemm and MatMul. */
  parameters: number;
  /** 2 × multiply-adds of those operators for one input of the given dims. */
  forwardFlops: number;
}

const COMPUTE_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** The initializer behind a tensor, looking through a DequantizeLinear (a QDQ model's weights). */
function weightDims(view: OnnxModelView, tensor: string | undefined): number[] | undefined {
  if (!tensor) return undefined;
  const direct = view.initializer(tensor);
  if (direct) return (direct.dims ?? []).map(Number);
  const producer = view.producerOf(tensor);
  if (producer?.opType === 'DequantizeLinear' || producer?.opType === 'Identity')
    return weightDims(view, producer.input?.[0] ?? undefined);
  return undefined;
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const attribute = (node.attribute ?? []).find((a) => a.name === name);
  return attribute?.i !== undefined && attribute.i !== null ? Number(attribute.i) : fallback;
}

/**
 * The tensors whose runtime shapes the count needs: a Conv's output (one multiply-add per output
 * element per kernel tap of its group), a ConvTranspose's input (each input element scatters one
 * kernel per output channel of its group), a matrix product's first input.
 */
function shapeTensor(node: NodeProto): string {
  const tensor = node.opType === 'Conv' ? node.output?.[0] : node.input?.[0];
  if (!tensor) throw new Error(`${node.opType} node ${node.name ?? ''} lacks the tensor its cost needs`);
  return tensor;
}

function multiplyAdds(view: OnnxModelView, node: NodeProto, shape: readonly number[]): number {
  const weight = weightDims(view, node.input?.[1] ?? undefined);
  if (!weight) return 0; // a product of two activations (none in a segmentation FCN)
  // The group count is in the weight's dims already: in/group (Conv), out/group (ConvTranspose).
  switch (node.opType) {
    case 'Conv': // output [1, out, h, w] × weight [out, in/group, kh, kw]
    case 'ConvTranspose': // input [1, in, h, w] × weight [in, out/group, kh, kw]
      return product(shape) * product(weight.slice(1));
    case 'Gemm': {
      const transB = intAttribute(node, 'transB', 0);
      const outFeatures = transB ? weight[0]! : weight[1]!;
      return product(shape) * outFeatures;
    }
    default: // MatMul: [..., K] × [K, N]
      return product(shape) * (weight.at(-1) ?? 0);
  }
}

/** Parameters and forward FLOPs of the model at `path` for one input of `inputDims`. */
export async function modelCost(
  path: string,
  input: { name: string; dims: readonly number[]; dtype: 'float32' | 'uint8' },
): Promise<ModelCost> {
  const view = new OnnxModelView(await readFile(path), path);
  const computeNodes = view.nodes.filter(
    (node) => COMPUTE_OPS.has(node.opType ?? '') && (!node.domain || node.domain === 'ai.onnx'),
  );
  const counted = new Set<string>();
  let parameters = 0;
  for (const node of computeNodes)
    for (const tensor of (node.input ?? []).slice(1)) {
      const dims = weightDims(view, tensor);
      if (!dims || counted.has(tensor)) continue;
      counted.add(tensor);
      parameters += product(dims);
    }
  const tensors = [...new Set(computeNodes.map(shapeTensor))];
  const graph = view.graph;
  const extra = tensors.filter((name) => !view.isGraphOutput(name)).map(floatOutput);
  const withShapes: ModelProto = {
    ...view.model,
    graph: { ...graph, output: [...(graph.output ?? []), ...extra] },
  };
  // No graph optimisation: fused or reordered nodes would hide the tensors asked for.
  const session = await ort.InferenceSession.create(onnx.ModelProto.encode(withShapes).finish(), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'disabled',
  });
  try {
    const count = product(input.dims);
    const feed =
      input.dtype === 'uint8'
        ? new ort.Tensor('uint8', new Uint8Array(count), [...input.dims])
        : new ort.Tensor('float32', new Float32Array(count), [...input.dims]);
    const shapes = new Map<string, readonly number[]>();
    // One tensor at a time would rerun the model; all at once holds them all, which even VGG16's
    // activations at 256x512 (~0.3 GB) allow.
    const outputs = await session.run({ [input.name]: feed }, tensors);
    for (const name of tensors) shapes.set(name, outputs[name]!.dims);
    let macs = 0;
    for (const node of computeNodes) macs += multiplyAdds(view, node, shapes.get(shapeTensor(node))!);
    return { parameters, forwardFlops: 2 * macs };
  } finally {
    await session.release();
  }
}
