// The ONNX operators edgeseg's exported models (every encoder, both heads, and their int8 QDQ
// copies) may use so that TensorRT 8.2 — JetPack 4.6, the last JetPack for TX1, TX2 and Nano —
// imports every node: each has an importer in onnx-tensorrt 8.2-GA (builtin_op_importers.cpp,
// docs/operators.md). HardSwish is not among them (its importer came in 8.4), so the exporter writes
// hardswish as HardSigmoid · Mul. 8.2 documents opsets up to 13; the versions 14-17 of the operators
// below only added element types, so an opset-17 file means the same to it.

export const TENSORRT_8_2_OPS: ReadonlySet<string> = new Set([
  'Add',
  'Conv',
  'ConvTranspose',
  'DequantizeLinear',
  'GlobalAveragePool',
  'HardSigmoid',
  'Identity',
  'MaxPool',
  'Mul',
  'QuantizeLinear',
  'Relu',
  'Sub',
]);

/** The operators of `ops` outside that list, sorted: what TensorRT 8.2 would hand to another provider. */
export function opsOutsideTensorRt82(ops: Iterable<string>): string[] {
  return [...new Set(ops)].filter((op) => !TENSORRT_8_2_OPS.has(op)).sort();
}
