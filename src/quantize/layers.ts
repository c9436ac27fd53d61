// Which layers of a float ONNX graph can be quantised, and the tensors whose ranges calibration
// must measure: every Conv with constant weights (with the Relu that follows it, which the int8
// kernel absorbs), each with its input activation and its output.

import type { NodeProto, OnnxModelView } from './onnx-model.js';

export interface ConvLayer {
  /** The Conv node's name (its output's when unnamed): how users and the manifest name the layer. */
  name: string;
  node: NodeProto;
  /** The activation the layer reads. */
  input: string;
  weight: string;
  bias: string | undefined;
  /** The layer's result: the Relu's output when a Relu alone follows the Conv, else the Conv's. */
  output: string;
  outChannels: number;
}

export interface QuantizationPlan {
  layers: ConvLayer[];
  /** Layers with weights that stay in float whatever the options, and why. */
  alwaysFloat: Array<{ layer: string; reason: string }>;
  /** Every tensor calibration must measure (inputs and outputs of the quantisable layers). */
  calibrationTensors: string[];
}

function nodeName(node: NodeProto): string {
  return node.name || node.output?.[0] || '(unnamed)';
}

export function planQuantization(view: OnnxModelView): QuantizationPlan {
  const layers: ConvLayer[] = [];
  const alwaysFloat: QuantizationPlan['alwaysFloat'] = [];
  for (const node of view.nodes) {
    const [input, weight, bias] = node.input ?? [];
    if (node.opType === 'ConvTranspose') {
      alwaysFloat.push({
        layer: nodeName(node),
        reason:
          'ConvTranspose (upsampling): onnxruntime has no int8 CPU kernel for it, so QDQ would only add work',
      });
      continue;
    }
    if (node.opType !== 'Conv' || node.domain) continue;
    const weightTensor = weight ? view.initializer(weight) : undefined;
    const constantBias = !bias || view.isInitializer(bias);
    if (
      !input ||
      view.isInitializer(input) ||
      !weightTensor ||
      weightTensor.dims?.length !== 4 ||
      !constantBias
    ) {
      alwaysFloat.push({ layer: nodeName(node), reason: 'Conv without constant 4-D weights and bias' });
      continue;
    }
    const convOutput = node.output![0]!;
    const consumers = view.consumersOf(convOutput);
    const relu =
      consumers.length === 1 && consumers[0]!.opType === 'Relu' && !view.isGraphOutput(convOutput)
        ? consumers[0]
        : undefined;
    layers.push({
      name: nodeName(node),
      node,
      input,
      weight: weight!,
      bias: bias || undefined,
      output: relu ? relu.output![0]! : convOutput,
      outChannels: Number(weightTensor.dims[0]),
    });
  }
  const tensors = new Set<string>();
  for (const layer of layers) {
    tensors.add(layer.input);
    tensors.add(layer.output);
  }
  return { layers, alwaysFloat, calibrationTensors: [...tensors] };
}
