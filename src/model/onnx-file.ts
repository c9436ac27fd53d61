// Decoding an ONNX file: the one place that turns its bytes into a ModelProto, so every reader (the
// ImageNet importers, the engine's opset check, the quantiser) refuses a broken file with the same
// message naming it. protobufjs keeps tensors' raw data as views into the bytes (no copy).

import onnxProto from 'onnx-proto';
import { FileError } from '../system/errors.js';

export type OnnxModel = onnxProto.onnx.ModelProto & { graph: onnxProto.onnx.GraphProto };

/** The model in `bytes` (read from `path`, named in errors), which must have a graph. */
export function decodeOnnxModel(bytes: Uint8Array, path: string): OnnxModel {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new FileError(path, 'is not an ONNX model (protobuf decoding failed)', { cause: error });
  }
  if (!model.graph) throw new FileError(path, 'is not an ONNX model (no graph)');
  return model as OnnxModel;
}
