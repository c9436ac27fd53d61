// A small builder over onnx-proto's generated protobuf classes: named initializers, nodes and
// typed inputs/outputs, encoded by protobufjs. Weights go in as raw little-endian float32 bytes.

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export { onnx };

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

type Attribute = number | number[] | string;

export class OnnxGraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private counter = 0;

  /** Adds a float32 initializer. `values` is referenced, not copied, until encode(). */
  initializer(name: string, dims: number[], values: Float32Array): string {
    const littleEndian = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: littleEndian });
    return name;
  }

  /** A float32 constant (scalar when dims is []). */
  constant(dims: number[], values: number[]): string {
    return this.initializer(`const_${this.counter++}`, dims, Float32Array.from(values));
  }

  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    outputName?: string,
  ): string {
    const output = outputName ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({
      opType,
      name: output,
      input: inputs,
      output: [output],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return output;
  }

  input(name: string, dims: number[]): void {
    this.inputs.push(valueInfo(name, dims));
  }

  output(name: string, dims: number[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  encode(graphName: string, docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'edgeseg',
      docString,
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, value: Attribute): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (Number.isInteger(value)) return { name, type: AttributeType.INT, i: value };
  return { name, type: AttributeType.FLOAT, f: value };
}

function valueInfo(name: string, dims: number[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((dimValue) => ({ dimValue })) },
      },
    },
  };
}
