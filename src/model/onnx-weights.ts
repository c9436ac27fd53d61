// Reading weights out of ONNX files (torchvision exports, the ONNX model zoo): the graph's nodes,
// its constant tensors by name (through Identity and Constant nodes), and their float32 values.

import { closeSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { errorMessage, FileError } from '../system/errors.js';
import { decodeOnnxModel } from './onnx-file.js';

const { onnx } = onnxProto;

export type OnnxTensor = onnxProto.onnx.ITensorProto;
export type OnnxNode = onnxProto.onnx.INodeProto;
type Tensor = OnnxTensor;

/** The nodes and constant tensors of the ONNX file at `path`; `what` names the expected model. */
export async function readOnnxGraph(
  path: string,
  what: string,
): Promise<{ nodes: OnnxNode[]; tensors: Map<string, OnnxTensor> }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new FileError(path, `cannot read the ${what} ONNX file`, { cause: error });
  }
  const model = decodeOnnxModel(bytes, path);
  const nodes = model.graph.node ?? [];
  if (nodes.length === 0) throw new FileError(path, 'the ONNX file has no graph');

  const tensors = new Map<string, Tensor>();
  for (const tensor of model.graph.initializer ?? []) if (tensor.name) tensors.set(tensor.name, tensor);
  // Weights reached through Identity or Constant nodes (some exporters emit them) resolve too.
  for (const node of nodes) {
    if (node.opType === 'Constant') {
      const value = node.attribute?.find((a) => a.name === 'value')?.t;
      if (value && node.output?.[0]) tensors.set(node.output[0], value);
    } else if (node.opType === 'Identity' && node.input?.[0] && node.output?.[0]) {
      const source = tensors.get(node.input[0]);
      if (source) tensors.set(node.output[0], source);
    }
  }
  return { nodes, tensors };
}

export function tensorOf(
  tensors: Map<string, Tensor>,
  name: string | undefined,
  path: string,
  what: string,
): Tensor {
  const tensor = name ? tensors.get(name) : undefined;
  if (!tensor)
    throw new FileError(path, `${what}: weights are not constant initializers (input "${name ?? 'none'}")`, {
      hint: 'export with torch.onnx.export(..., do_constant_folding=True) so weights are initializers',
    });
  return tensor;
}

export function dimsOf(tensor: Tensor): number[] {
  return (tensor.dims ?? []).map((d) => Number(d));
}

export function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export /** Float32 values of an initializer: raw little-endian bytes, float_data, or external data. */
class TensorReader {
  private readonly files = new Map<string, number>();
  constructor(private readonly modelPath: string) {}

  values(tensor: Tensor): Float32Array {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT)
      throw new FileError(
        this.modelPath,
        `tensor ${tensor.name}: data type ${tensor.dataType} is not float32`,
        {
          hint: 'export the model in float32 (not float16 or quantised)',
        },
      );
    const count = dimsOf(tensor).reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    const bytes = new Uint8Array(values.buffer);
    if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      this.readExternal(tensor, bytes);
    } else if (tensor.rawData && tensor.rawData.length > 0) {
      if (tensor.rawData.length !== count * 4)
        throw new FileError(
          this.modelPath,
          `tensor ${tensor.name}: ${tensor.rawData.length} bytes for ${count} floats`,
        );
      bytes.set(tensor.rawData);
    } else if (tensor.floatData && tensor.floatData.length === count) {
      values.set(tensor.floatData);
    } else {
      throw new FileError(this.modelPath, `tensor ${tensor.name}: no data for ${count} floats`);
    }
    return values;
  }

  private readExternal(tensor: Tensor, target: Uint8Array): void {
    const entry = (key: string) => tensor.externalData?.find((e) => e.key === key)?.value ?? undefined;
    const location = entry('location');
    if (!location)
      throw new FileError(this.modelPath, `tensor ${tensor.name}: external data without a location`);
    const file = resolve(dirname(this.modelPath), location);
    const offset = Number(entry('offset') ?? 0);
    let fd = this.files.get(file);
    try {
      if (fd === undefined) {
        fd = openSync(file, 'r');
        this.files.set(file, fd);
      }
      const read = readSync(fd, target, 0, target.length, offset);
      if (read !== target.length)
        throw new Error(`read ${read} of ${target.length} bytes at offset ${offset}`);
    } catch (error) {
      throw new FileError(file, `external data of tensor ${tensor.name}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  close(): void {
    for (const fd of this.files.values()) closeSync(fd);
    this.files.clear();
  }
}
