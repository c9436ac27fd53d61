// Every reader of ONNX files decodes through model/onnx-file: a file that is not an ONNX model is
// refused with the same message naming it, whichever command reads it.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readGraphFacts } from '../../src/engine/onnx-opset.js';
import { readOnnxGraph } from '../../src/model/onnx-weights.js';
import { OnnxModelView } from '../../src/quantize/onnx-model.js';
import { makeSuiteDir } from '../helpers/tmp.js';

const suite = await makeSuiteDir();
after(() => suite.remove());

test('the importers, the engine and the quantiser refuse a non-ONNX file with one message naming it', async () => {
  const path = join(suite.dir, 'junk.onnx');
  // Not protobuf at all, and valid protobuf with no graph.
  for (const bytes of [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0x08, 0x07])]) {
    await writeFile(path, bytes);
    const expected = /junk\.onnx: is not an ONNX model \((protobuf decoding failed|no graph)\)/;
    await assert.rejects(readOnnxGraph(path, 'ResNet18'), expected);
    assert.throws(() => readGraphFacts(path, bytes), expected);
    assert.throws(() => new OnnxModelView(bytes, path), expected);
  }
});
