// Reads what an older onnxruntime needs to know about an ONNX file without asking the runtime: the
// default-domain opset, the operators used and the declared inputs/outputs; and re-stamps opset 17
// as 16 in place where that changes no operator's meaning (for onnxruntime 1.11 on JetPack 4.6).

import type onnxProto from 'onnx-proto';
import type { OnnxIo, OnnxValueInfo } from '../model/model-dir.js';
import { decodeOnnxModel } from '../model/onnx-file.js';
import { FileError } from '../system/errors.js';

/**
 * Opsets that only added operators and changed none: re-stamping a model from the key down to the
 * value keeps every node's meaning, as long as the model uses none of the added operators.
 * ONNX opset 17 added exactly these (ONNX Changelog); no existing operator got a version 17.
 */
const ADDITIVE_OPSETS: ReadonlyMap<number, { to: number; added: ReadonlySet<string> }> = new Map([
  [
    17,
    {
      to: 16,
      added: new Set([
        'LayerNormalization',
        'SequenceMap',
        'DFT',
        'STFT',
        'HannWindow',
        'HammingWindow',
        'BlackmanWindow',
        'MelWeightMatrix',
      ]),
    },
  ],
]);

/** Operators with subgraphs: their bodies would need the same check, which we do not do. */
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan']);

const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

export interface OnnxGraphFacts {
  /** The default-domain ("" or "ai.onnx") opset the model imports. */
  opset: number;
  /** Default-domain operator types the top-level graph uses. */
  ops: Set<string>;
  io: OnnxIo;
}

const isDefaultDomain = (domain: string | null | undefined) => !domain || domain === 'ai.onnx';

/** Decodes the graph's structure; protobufjs keeps the weights as views into `bytes` (no copy). */
export function readGraphFacts(onnxPath: string, bytes: Uint8Array): OnnxGraphFacts {
  const model = decodeOnnxModel(bytes, onnxPath);
  const opset = Number(model.opsetImport.find((entry) => isDefaultDomain(entry.domain))?.version ?? 0);
  const graph = model.graph;
  const ops = new Set(
    (graph.node ?? []).filter((node) => isDefaultDomain(node.domain)).map((node) => node.opType ?? ''),
  );
  const initializers = new Set((graph.initializer ?? []).map((tensor) => tensor.name));
  const describe = (value: onnxProto.onnx.IValueInfoProto): OnnxValueInfo => {
    const tensor = value.type?.tensorType;
    if (!tensor) return { name: value.name ?? '', type: 'non-tensor', shape: [] };
    const dims = tensor.shape?.dim ?? [];
    return {
      name: value.name ?? '',
      type: ELEMENT_TYPES[tensor.elemType ?? 0] ?? `onnx type ${tensor.elemType}`,
      shape: dims.map((dim) =>
        dim.dimParam
          ? dim.dimParam
          : dim.dimValue !== undefined && dim.dimValue !== null
            ? Number(dim.dimValue)
            : -1,
      ),
    };
  };
  return {
    opset,
    ops,
    io: {
      // IR < 4 graphs list their initializers among the inputs; onnxruntime does not feed those.
      inputs: (graph.input ?? []).filter((value) => !initializers.has(value.name)).map(describe),
      outputs: (graph.output ?? []).map(describe),
    },
  };
}

/**
 * Makes `bytes` loadable by a runtime whose highest opset is `maxOpset`: returns them unchanged
 * when the model's opset fits, re-stamps them in place when every step down is additive and the
 * model uses none of the added operators, and otherwise throws a FileError saying what to do.
 */
export function fitOpset(
  onnxPath: string,
  bytes: Uint8Array,
  facts: OnnxGraphFacts,
  maxOpset: number,
  runtime: string,
): Uint8Array {
  if (facts.opset <= maxOpset) return bytes;
  let target = facts.opset;
  while (target > maxOpset) {
    const step = ADDITIVE_OPSETS.get(target);
    const added = step ? [...facts.ops].filter((op) => step.added.has(op)) : [];
    const nested = [...facts.ops].filter((op) => SUBGRAPH_OPS.has(op));
    if (!step || added.length > 0 || nested.length > 0) {
      const why = !step
        ? `opset ${target} changed operators`
        : added.length > 0
          ? `it uses ${added.join(', ')}, new in opset ${target}`
          : `its ${nested.join(', ')} subgraphs are not checked`;
      throw new FileError(
        onnxPath,
        `uses ONNX opset ${facts.opset}; ${runtime} loads opsets up to ${maxOpset} and the model cannot be re-stamped (${why})`,
        { hint: `export the model with opset ${maxOpset} or lower, or run a newer onnxruntime` },
      );
    }
    target = step.to;
  }
  setDefaultOpset(onnxPath, bytes, target);
  return bytes;
}

// Protobuf wire walking for the one edit: ModelProto.opset_import (field 8) holds
// OperatorSetIdProto { domain = 1; version = 2 }. Opsets are < 128, one varint byte either way, so
// the edit never changes a length and the 100s of MB of weights are neither decoded nor copied.
function setDefaultOpset(onnxPath: string, bytes: Uint8Array, opset: number): void {
  if (opset < 1 || opset > 127) throw new RangeError(`opset ${opset} does not fit one varint byte`);
  let edited = 0;
  forEachField(bytes, 0, bytes.length, (field, wireType, start, end) => {
    if (field !== 8 || wireType !== 2) return;
    let domain = '';
    let versionAt = -1;
    forEachField(bytes, start, end, (inner, innerType, innerStart, innerEnd) => {
      if (inner === 1 && innerType === 2)
        domain = new TextDecoder().decode(bytes.subarray(innerStart, innerEnd));
      if (inner === 2 && innerType === 0) versionAt = innerStart;
    });
    if (!isDefaultDomain(domain) || versionAt < 0) return;
    if ((bytes[versionAt] ?? 0x80) & 0x80) throw new FileError(onnxPath, 'has an opset version above 127');
    bytes[versionAt] = opset;
    edited++;
  });
  if (edited !== 1) throw new FileError(onnxPath, `has ${edited} default-domain opset imports, expected 1`);
}

function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, i + 1];
    scale *= 128;
  }
  throw new RangeError(`truncated varint at byte ${at}`);
}

/** Calls `visit` for each field in bytes[start, end): varints give their value's offset as start. */
function forEachField(
  bytes: Uint8Array,
  start: number,
  end: number,
  visit: (field: number, wireType: number, start: number, end: number) => void,
): void {
  let at = start;
  while (at < end) {
    const [tag, afterTag] = readVarint(bytes, at);
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    let valueEnd: number;
    let valueStart = afterTag;
    if (wireType === 0) valueEnd = readVarint(bytes, afterTag)[1];
    else if (wireType === 1) valueEnd = afterTag + 8;
    else if (wireType === 5) valueEnd = afterTag + 4;
    else if (wireType === 2) {
      const [length, afterLength] = readVarint(bytes, afterTag);
      valueStart = afterLength;
      valueEnd = afterLength + length;
    } else throw new RangeError(`unsupported protobuf wire type ${wireType} at byte ${at}`);
    if (valueEnd > end) throw new RangeError(`field ${field} at byte ${at} runs past its message`);
    visit(field, wireType, valueStart, valueEnd);
    at = valueEnd;
  }
}
