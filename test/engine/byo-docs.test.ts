// The worked example in docs/bring-your-own-model.md stays valid: its manifest loads against a graph
// with torchvision's export signature (input "input" NCHW float32, output "out" [1, 21, H, W]).

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEngine } from '../../src/engine/create.js';
import { Segmenter } from '../../src/segment/segmenter.js';
import { sha256File } from '../../src/system/fs.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { buildSegmentationOnnx } from './fixtures.js';

test('the torchvision FCN manifest from the docs loads, verifies and segments', async () => {
  const doc = await readFile(join(repoRoot, 'docs', 'bring-your-own-model.md'), 'utf8');
  const block = /```json\n([\s\S]*?)\n```/.exec(doc);
  assert.ok(block, 'the doc has a JSON manifest');
  const manifest = JSON.parse(block[1]!);
  const dir = await makeTempDir();
  // 21 classes; class 15 ("person") wins on red-dominant pixels, background elsewhere.
  const weights = Array.from({ length: 21 }, (_, id) => (id === 15 ? [1, -1, -1] : [0, 0, 0]));
  await writeFile(
    join(dir, 'model.onnx'),
    buildSegmentationOnnx({
      height: 320,
      width: 576,
      inputName: 'input',
      outputName: 'out',
      weights,
      dynamicSpatial: true,
    }),
  );
  manifest.files.onnxSha256 = await sha256File(join(dir, 'model.onnx'));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const engine = await createEngine(dir, { runtime: 'auto', executionProviders: ['tensorrt', 'cpu'] });
  assert.deepEqual(engine.info.outputDims, [1, 21, 320, 576]);
  const frame = { data: new Uint8Array(64 * 32 * 3), width: 64, height: 32 };
  for (let i = 0; i < 64 * 32; i++) frame.data[i * 3 + (i % 64 < 32 ? 0 : 2)] = 255; // left half red, right blue
  const result = await new Segmenter(engine).segment(frame);
  const names = engine.manifest.classes.map((cls) => cls.name);
  assert.equal(names[result.classMask[160 * 576 + 10]!], 'person');
  assert.equal(names[result.classMask[160 * 576 + 500]!], 'background');
  await engine.stop();
});
