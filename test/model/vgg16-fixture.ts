// Writes a width-scaled VGG16 ONNX file the way torch.onnx.export writes torchvision's vgg16:
// 13 Conv+Relu with 2x2 MaxPools, Flatten, Gemm(transB=1)+Relu twice and a classifier Gemm.
// Built directly with onnx-proto (not edgeseg's exporter) so the importer is tested against an
// independent writer; the graph runs in onnxruntime at 224x224.

import { writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { fillNormal, mulberry32 } from '../../src/model/random.js';

const { onnx } = onnxProto;

export interface VggFixtureOptions {
  widthMultiplier: number;
  seed: number;
  /** 'gemm' as torchvision exports; 'matmul' as MatMul + Add with [in, out] weights. */
  dense?: 'gemm' | 'matmul';
  /** Store weights as float_data instead of raw_data. */
  floatData?: boolean;
  /** Store weights in `<path>.data` beside the model (ONNX external data). */
  externalData?: boolean;
  /** Override fc6's input feature count (to make a mismatching file). */
  fc6Inputs?: number;
}

const BLOCKS: Array<[number, number]> = [
  [64, 2],
  [128, 2],
  [256, 3],
  [512, 3],
  [512, 3],
];

const scaled = (c: number, w: number) => Math.max(1, Math.round(c * w));

/** Writes the file; the graph has input `input` [1,3,224,224] and outputs `fc7` (after ReLU) and `logits`. */
export async function writeVgg16Onnx(path: string, options: VggFixtureOptions): Promise<void> {
  const random = mulberry32(options.seed);
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const external: Uint8Array[] = [];
  let externalBytes = 0;
  const dataFile = `${basename(path)}.data`;
  const tensor = (name: string, dims: number[], std: number) => {
    const values = fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1)), std, random);
    if (options.externalData) {
      initializers.push({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: dataFile },
          { key: 'offset', value: String(externalBytes) },
          { key: 'length', value: String(values.byteLength) },
        ],
      });
      external.push(new Uint8Array(values.buffer));
      externalBytes += values.byteLength;
      return name;
    }
    initializers.push(
      options.floatData
        ? { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(values) }
        : {
            name,
            dims,
            dataType: onnx.TensorProto.DataType.FLOAT,
            rawData: new Uint8Array(values.buffer),
          },
    );
    return name;
  };
  const ints = (name: string, values: number[]) => ({
    name,
    type: onnx.AttributeProto.AttributeType.INTS,
    ints: values,
  });
  const int = (name: string, value: number) => ({
    name,
    type: onnx.AttributeProto.AttributeType.INT,
    i: value,
  });
  let counter = 0;
  const node = (
    opType: string,
    input: string[],
    attribute: onnxProto.onnx.IAttributeProto[] = [],
    out?: string,
  ) => {
    const output = out ?? `/${opType}_${counter++}_output_0`;
    nodes.push({ opType, name: `/${opType}_${counter++}`, input, output: [output], attribute });
    return output;
  };

  let x = 'input';
  let inChannels = 3;
  let convIndex = 0;
  for (const [channels, count] of BLOCKS) {
    const out = scaled(channels, options.widthMultiplier);
    for (let i = 0; i < count; i++) {
      const prefix = `features.${convIndex}`;
      const weight = tensor(`${prefix}.weight`, [out, inChannels, 3, 3], Math.sqrt(2 / (9 * inChannels)));
      const bias = tensor(`${prefix}.bias`, [out], 0.1);
      x = node('Conv', [x, weight, bias], [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])]);
      x = node('Relu', [x]);
      inChannels = out;
      convIndex += 2;
    }
    x = node('MaxPool', [x], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]);
    convIndex++;
  }
  x = node('Flatten', [x], [int('axis', 1)]);
  const fc = scaled(4096, options.widthMultiplier);
  const dense = (name: string, inputs: number, outputs: number, output?: string) => {
    const std = Math.sqrt(2 / inputs);
    if (options.dense === 'matmul') {
      const product = node('MatMul', [x, tensor(`${name}.weight`, [inputs, outputs], std)]);
      return node('Add', [product, tensor(`${name}.bias`, [outputs], 0.1)], [], output);
    }
    const weight = tensor(`${name}.weight`, [outputs, inputs], std);
    return node('Gemm', [x, weight, tensor(`${name}.bias`, [outputs], 0.1)], [int('transB', 1)], output);
  };
  x = dense('classifier.0', options.fc6Inputs ?? inChannels * 49, fc);
  x = node('Relu', [x]);
  x = dense('classifier.3', fc, fc);
  x = node('Relu', [x], [], 'fc7');
  dense('classifier.6', fc, 10, 'logits');

  const valueInfo = (name: string, dims: number[]) => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((dimValue) => ({ dimValue })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'pytorch',
    graph: {
      name: 'main_graph',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', [1, 3, 224, 224])],
      output: [valueInfo('fc7', [1, fc]), valueInfo('logits', [1, 10])],
    },
  });
  await writeFile(path, onnx.ModelProto.encode(model).finish());
  if (options.externalData) await writeFile(join(dirname(path), dataFile), Buffer.concat(external));
}
