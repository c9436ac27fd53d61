// Small hand-built ONNX segmentation models (opset 17) in the contracts users bring: NCHW/NHWC,
// RGB/BGR, normalised inputs, and logits / probabilities / class-id outputs. Each model is a 1x1
// convolution whose weights make the predicted class a known function of the normalised pixel, so
// tests can compute the expected class mask directly from the input image.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { ClassInfo, ModelManifest } from '../../src/model/manifest.js';
import { sha256File } from '../../src/system/fs.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

export interface FixtureContract {
  height: number;
  width: number;
  layout?: 'NCHW' | 'NHWC';
  outputLayout?: 'NCHW' | 'NHWC';
  channelOrder?: 'RGB' | 'BGR';
  output?: 'logits' | 'probabilities' | 'classIds';
  scale?: number;
  mean?: [number, number, number];
  std?: [number, number, number];
  resize?: 'stretch' | 'letterbox';
  /** Input/output names as an exporter elsewhere would choose them. */
  inputName?: string;
  outputName?: string;
  /**
   * numClasses x 3 weights of the 1x1 convolution over the model's (normalised, model-order)
   * channels, and numClasses biases. Default: identity over 3 classes (class = strongest channel).
   */
  weights?: number[][];
  bias?: number[];
  /** Make the batch, height and width dims symbolic, as many exported models do. */
  dynamicSpatial?: boolean;
}

const attr = {
  ints: (name: string, ints: number[]) =>
    onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints }),
  int: (name: string, i: number) =>
    onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
};

function valueInfo(name: string, elemType: number, dims: Array<number | string>) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function floatInitializer(name: string, dims: number[], values: number[]) {
  const data = new Float32Array(values);
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: FLOAT,
    rawData: new Uint8Array(data.buffer),
  });
}

/** Encodes a segmentation-shaped ONNX model for `contract`. */
export function buildSegmentationOnnx(contract: FixtureContract): Uint8Array {
  const layout = contract.layout ?? 'NCHW';
  const outputLayout = contract.outputLayout ?? layout;
  const kind = contract.output ?? 'logits';
  const inputName = contract.inputName ?? 'image';
  const outputName = contract.outputName ?? 'logits';
  const weights = contract.weights ?? [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  const numClasses = weights.length;
  const bias = contract.bias ?? new Array<number>(numClasses).fill(0);
  const { height: h, width: w } = contract;
  const sh: number | string = contract.dynamicSpatial ? 'height' : h;
  const sw: number | string = contract.dynamicSpatial ? 'width' : w;
  const batch: number | string = contract.dynamicSpatial ? 'batch' : 1;

  const nodes = [];
  let current = inputName;
  if (layout === 'NHWC') {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Transpose',
        input: [current],
        output: ['image_nchw'],
        attribute: [attr.ints('perm', [0, 3, 1, 2])],
      }),
    );
    current = 'image_nchw';
  }
  nodes.push(
    onnx.NodeProto.create({
      opType: 'Conv',
      input: [current, 'classifier_w', 'classifier_b'],
      output: ['scores_nchw'],
      attribute: [attr.ints('kernel_shape', [1, 1])],
    }),
  );
  current = 'scores_nchw';
  if (kind === 'probabilities') {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Softmax',
        input: [current],
        output: ['probs_nchw'],
        attribute: [attr.int('axis', 1)],
      }),
    );
    current = 'probs_nchw';
  }
  let outputDims: Array<number | string>;
  let outputType = FLOAT;
  if (kind === 'classIds') {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'ArgMax',
        input: [current],
        output: [outputName],
        attribute: [attr.int('axis', 1), attr.int('keepdims', 0)],
      }),
    );
    outputDims = [batch, sh, sw];
    outputType = INT64;
  } else if (outputLayout === 'NHWC') {
    nodes.push(
      onnx.NodeProto.create({
        opType: 'Transpose',
        input: [current],
        output: [outputName],
        attribute: [attr.ints('perm', [0, 2, 3, 1])],
      }),
    );
    outputDims = [batch, sh, sw, numClasses];
  } else {
    nodes.push(onnx.NodeProto.create({ opType: 'Identity', input: [current], output: [outputName] }));
    outputDims = [batch, numClasses, sh, sw];
  }

  const inputDims = layout === 'NHWC' ? [batch, sh, sw, 3] : [batch, 3, sh, sw];
  const graph = onnx.GraphProto.create({
    name: 'fixture_segmenter',
    node: nodes,
    initializer: [
      floatInitializer('classifier_w', [numClasses, 3, 1, 1], weights.flat()),
      floatInitializer('classifier_b', [numClasses], bias),
    ],
    input: [valueInfo(inputName, FLOAT, inputDims)],
    output: [valueInfo(outputName, outputType, outputDims)],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'edgeseg-test-fixtures',
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

export const RGB_CLASSES: ClassInfo[] = [
  { id: 0, name: 'red', color: [255, 0, 0], ignore: false },
  { id: 1, name: 'green', color: [0, 255, 0], ignore: false },
  { id: 2, name: 'blue', color: [0, 0, 255], ignore: false },
];

/**
 * Writes model.onnx + manifest.json into `dir`. Default classes name the channel each identity
 * class picks in RGB order; with channelOrder BGR the model's channel 0 is blue, so the manifest
 * names class 0 "blue": a correct engine still calls a red pixel "red".
 */
export async function writeFixtureModelDir(
  dir: string,
  contract: FixtureContract,
  manifestOverrides: Partial<ModelManifest> = {},
): Promise<ModelManifest> {
  await mkdir(dir, { recursive: true });
  const onnxPath = join(dir, 'model.onnx');
  await writeFile(onnxPath, buildSegmentationOnnx(contract));
  const classes =
    contract.channelOrder === 'BGR' && !contract.weights
      ? [...RGB_CLASSES].reverse().map((cls, id) => ({ ...cls, id }))
      : contract.weights
        ? contract.weights.map((_, id) => ({
            id,
            name: `class${id}`,
            color: [(id * 80) % 256, (id * 150) % 256, (id * 40) % 256] as [number, number, number],
            ignore: false,
          }))
        : RGB_CLASSES;
  const manifest: ModelManifest = {
    formatVersion: 1,
    name: 'fixture',
    precision: 'fp32',
    classes,
    input: {
      name: contract.inputName ?? 'image',
      layout: contract.layout ?? 'NCHW',
      height: contract.height,
      width: contract.width,
      channelOrder: contract.channelOrder ?? 'RGB',
      dtype: 'float32',
      scale: contract.scale ?? 1,
      mean: contract.mean ?? [0, 0, 0],
      std: contract.std ?? [1, 1, 1],
      resize: contract.resize ?? 'stretch',
    },
    output: {
      name: contract.outputName ?? 'logits',
      kind: contract.output ?? 'logits',
      layout: contract.outputLayout ?? contract.layout ?? 'NCHW',
    },
    files: { onnx: 'model.onnx', onnxSha256: await sha256File(onnxPath) },
    ...manifestOverrides,
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
