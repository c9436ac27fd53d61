// A read-only view of a decoded ONNX model for the quantizer: initializers by name, the node that
// produces each tensor and the nodes that consume it, float initializer values and attributes.

import type onnxProto from 'onnx-proto';
import { onnx } from '../export/onnx-graph.js';
import { decodeOnnxModel, type OnnxModel } from '../model/onnx-file.js';

export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

export const { DataType } = onnx.TensorProto;

export interface FloatTensor {
  dims: number[];
  values: Float32Array;
}

export class OnnxModelView {
  readonly model: OnnxModel;
  readonly nodes: readonly NodeProto[];
  private readonly initializers = new Map<string, TensorProto>();
  private readonly producers = new Map<string, NodeProto>();
  private readonly consumers = new Map<string, NodeProto[]>();
  private readonly outputs: Set<string>;

  /** `path` names the file in errors. */
  constructor(bytes: Uint8Array, path = 'the ONNX model') {
    this.model = decodeOnnxModel(bytes, path);
    const graph = this.model.graph;
    this.nodes = graph.node ?? [];
    for (const tensor of graph.initializer ?? []) this.initializers.set(tensor.name ?? '', tensor);
    for (const node of this.nodes) {
      for (const output of node.output ?? []) this.producers.set(output, node);
      for (const input of node.input ?? []) {
        if (!input) continue;
        const list = this.consumers.get(input) ?? [];
        if (!list.includes(node)) list.push(node);
        this.consumers.set(input, list);
      }
    }
    this.outputs = new Set((graph.output ?? []).map((value) => value.name ?? ''));
  }

  get graph(): onnxProto.onnx.IGraphProto {
    return this.model.graph!;
  }

  isInitializer(name: string): boolean {
    return this.initializers.has(name);
  }

  initializer(name: string): TensorProto | undefined {
    return this.initializers.get(name);
  }

  producerOf(tensor: string): NodeProto | undefined {
    return this.producers.get(tensor);
  }

  consumersOf(tensor: string): readonly NodeProto[] {
    return this.consumers.get(tensor) ?? [];
  }

  isGraphOutput(tensor: string): boolean {
    return this.outputs.has(tensor);
  }

  /** A float32 initializer's dims and values (a copy: raw bytes in a protobuf buffer need not be aligned). */
  floatInitializer(name: string): FloatTensor {
    const tensor = this.initializers.get(name);
    if (!tensor) throw new Error(`no initializer ${name}`);
    if (tensor.dataType !== DataType.FLOAT) throw new Error(`initializer ${name} is not float32`);
    const dims = (tensor.dims ?? []).map(Number);
    const count = dims.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (tensor.rawData && tensor.rawData.length > 0) {
      const raw = tensor.rawData;
      values = new Float32Array(count);
      new Uint8Array(values.buffer).set(raw.subarray(0, count * 4));
    } else {
      values = Float32Array.from(tensor.floatData ?? []);
    }
    if (values.length !== count)
      throw new Error(`initializer ${name} holds ${values.length} values, dims say ${count}`);
    return { dims, values };
  }
}

/** An initializer holding `values` as raw little-endian bytes, its element type from the array's type. */
export function tensorProto(
  name: string,
  dims: number[],
  values: Float32Array | Int8Array | Uint8Array | Int32Array,
): TensorProto {
  const dataType =
    values instanceof Float32Array
      ? DataType.FLOAT
      : values instanceof Int8Array
        ? DataType.INT8
        : values instanceof Uint8Array
          ? DataType.UINT8
          : DataType.INT32;
  return {
    name,
    dataType,
    dims,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** A float32 graph output of unknown shape: how the calibrator reads an intermediate tensor. */
export function floatOutput(name: string): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: DataType.FLOAT } } };
}
