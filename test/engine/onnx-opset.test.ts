// Re-stamping an opset-17 model for onnxruntime 1.11 (opset <= 16): in place, only when the graph
// uses none of the operators opset 17 added, and never for an opset that changed operators.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import onnxProto from 'onnx-proto';
import { fitOpset, readGraphFacts } from '../../src/engine/onnx-opset.js';
import { FileError } from '../../src/system/errors.js';
import { repoRoot } from '../helpers/cli.js';

const { onnx } = onnxProto;
const demo = join(repoRoot, 'models/synthetic-road-fcn8s/model.onnx');

function tinyModel(
  opset: number,
  opType: string,
  extraOpset?: { domain: string; version: number },
): Uint8Array {
  const info = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimParam: 'n' }] } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [...(extraOpset ? [extraOpset] : []), { domain: '', version: opset }],
    graph: {
      name: 'g',
      node: [{ opType, input: ['x'], output: ['y'] }],
      input: [info('x')],
      output: [info('y')],
    },
  }).finish();
}

test('the demo model is re-stamped 17 -> 16 in place: one byte, the weights untouched', async () => {
  const original = await readFile(demo);
  const bytes = Buffer.from(original);
  const facts = readGraphFacts(demo, bytes);
  assert.equal(facts.opset, 17);
  assert.deepEqual(facts.io.inputs, [{ name: 'image', type: 'float32', shape: [1, 3, 96, 288] }]);
  assert.equal(facts.io.outputs[0]?.name, 'logits');
  const fitted = fitOpset(demo, bytes, facts, 16, 'onnxruntime 1.11.0');
  assert.equal(fitted, bytes, 'edited in place, not copied');
  let changed = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== original[i]) changed++;
  assert.equal(changed, 1, 'one byte differs');
  const decoded = onnx.ModelProto.decode(bytes);
  assert.equal(Number(decoded.opsetImport[0]?.version), 16);
});

test('only the default-domain opset changes, and a fitting model is left alone', () => {
  const bytes = tinyModel(17, 'Relu', { domain: 'com.microsoft', version: 1 });
  fitOpset('m.onnx', bytes, readGraphFacts('m.onnx', bytes), 16, 'onnxruntime 1.11.0');
  const decoded = onnx.ModelProto.decode(bytes);
  assert.deepEqual(
    decoded.opsetImport.map((entry) => [entry.domain, Number(entry.version)]),
    [
      ['com.microsoft', 1],
      ['', 16],
    ],
  );
  const fits = tinyModel(13, 'Relu');
  const copy = Buffer.from(fits);
  fitOpset('m.onnx', fits, readGraphFacts('m.onnx', fits), 16, 'onnxruntime 1.11.0');
  assert.ok(copy.equals(fits), 'unchanged');
  assert.deepEqual(readGraphFacts('m.onnx', fits).io.inputs[0]?.shape, [1, 'n']);
});

test('a model that needs opset 17 or a newer opset is refused with what to do', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [tinyModel(17, 'LayerNormalization'), /uses LayerNormalization, new in opset 17/],
    [tinyModel(18, 'Relu'), /opset 18 changed operators/],
    [tinyModel(17, 'If'), /If subgraphs are not checked/],
  ];
  for (const [bytes, why] of cases) {
    const facts = readGraphFacts('m.onnx', bytes);
    assert.throws(
      () => fitOpset('m.onnx', bytes, facts, 16, 'onnxruntime 1.11.0'),
      (error: unknown) =>
        error instanceof FileError &&
        why.test(error.message) &&
        /m\.onnx: uses ONNX opset 1[78]; onnxruntime 1\.11\.0 loads opsets up to 16/.test(error.message) &&
        /export the model with opset 16 or lower/.test(error.hint ?? ''),
    );
  }
  assert.throws(
    () => readGraphFacts('junk.onnx', Buffer.from('not a model at all')),
    /junk\.onnx: is not an ONNX model/,
  );
});
