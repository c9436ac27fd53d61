// A real exported FCN-8s through both engines: the onnxruntime and tfjs engines agree on logits and
// class masks for the same frames, and runtime 'auto' falls back to the tfjs copy (with the reason)
// when onnxruntime cannot load the model.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderSyntheticScene, SYNTHETIC_ROAD_CLASSES } from '../../src/data/synthetic-road.js';
import { createEngine } from '../../src/engine/create.js';
import { exportModel } from '../../src/export/export.js';
import { CAFFE_VGG_NORMALIZATION } from '../../src/model/architecture.js';
import { createFcn8s, initialWeights } from '../../src/model/fcn8s.js';
import { fillNormal, mulberry32 } from '../../src/model/random.js';
import { initTf } from '../../src/model/tf.js';
import { Segmenter } from '../../src/segment/segmenter.js';
import { sha256File } from '../../src/system/fs.js';
import { makeTempDir } from '../helpers/tmp.js';

const root = await makeTempDir('edgeseg-engine-tfjs-');
const modelDir = join(root, 'fcn');
const config = {
  numClasses: SYNTHETIC_ROAD_CLASSES.length,
  height: 64,
  width: 160,
  widthMultiplier: 0.125,
  head: 'fcn8s' as const,
  inputChannelOrder: 'BGR' as const,
  normalization: CAFFE_VGG_NORMALIZATION,
};
await initTf('auto');
// Random scoring weights (they start at zero), so the class mask is not trivially all class 0.
const weights = initialWeights(config, 7);
const random = mulberry32(7);
for (const [name, entry] of weights) if (name.startsWith('score')) fillNormal(entry.values, 0.3, random);
const network = createFcn8s(config, { seed: 7, classes: SYNTHETIC_ROAD_CLASSES, weights });
await exportModel(network, modelDir, { name: 'parity' });
network.dispose();

const frames = [1, 2, 3].map((seed) => {
  const { image } = renderSyntheticScene(0x80000000 + seed, { height: 90, width: 240 });
  return { data: image, width: 240, height: 90, captureTimeMs: 0 };
});

test('onnxruntime and tfjs engines give the same logits and masks on an exported FCN-8s', async () => {
  const onnx = await createEngine(modelDir, { runtime: 'onnxruntime', executionProviders: ['cpu'] });
  const tfjs = await createEngine(modelDir, { runtime: 'tfjs', executionProviders: ['cpu'] });
  assert.equal(tfjs.info.runtime, 'tfjs');
  assert.deepEqual(tfjs.info.outputDims, onnx.info.outputDims);
  const onnxSegmenter = new Segmenter(onnx);
  const tfjsSegmenter = new Segmenter(tfjs);
  for (const frame of frames) {
    const a = await onnxSegmenter.segment(frame);
    const logitsA = Float32Array.from(a.rawOutput as Float32Array);
    const maskA = Uint8Array.from(a.classMask);
    const b = await tfjsSegmenter.segment(frame);
    const logitsB = b.rawOutput as Float32Array;
    let range = 0;
    let worst = 0;
    for (let i = 0; i < logitsA.length; i++) {
      range = Math.max(range, Math.abs(logitsA[i]!));
      worst = Math.max(worst, Math.abs(logitsA[i]! - logitsB[i]!));
    }
    assert.ok(worst <= 1e-4 * Math.max(1, range), `max |diff| ${worst} for logits up to ${range}`);
    let same = 0;
    for (let i = 0; i < maskA.length; i++) if (maskA[i] === b.classMask[i]) same++;
    assert.ok(same / maskA.length >= 0.999, `masks agree on ${same} of ${maskA.length} pixels`);
    assert.ok(new Set(maskA).size > 1, 'the mask has more than one class');
  }
  await onnx.stop();
  await tfjs.stop();
});

test("runtime 'auto' runs the tfjs copy when onnxruntime cannot load the model, and says why", async () => {
  const broken = join(root, 'broken');
  await exportModel(join(modelDir, 'tfjs'), broken, { name: 'broken' });
  // A truncated graph with a matching sha256: the file is what the manifest says, onnxruntime still refuses it.
  const onnxPath = join(broken, 'model.onnx');
  const bytes = await readFile(onnxPath);
  await writeFile(onnxPath, bytes.subarray(0, 100));
  const manifest = JSON.parse(await readFile(join(broken, 'manifest.json'), 'utf8'));
  manifest.files.onnxSha256 = await sha256File(onnxPath);
  await writeFile(join(broken, 'manifest.json'), JSON.stringify(manifest));
  const engine = await createEngine(broken, { runtime: 'auto', executionProviders: ['cpu'] });
  assert.equal(engine.info.runtime, 'tfjs');
  assert.match(
    engine.info.fallbackReasons[0]!,
    /^onnxruntime: .*model\.onnx: onnxruntime cannot load the model/,
  );
  const result = await new Segmenter(engine).segment(frames[0]!);
  assert.equal(result.classMask.length, 64 * 160);
  await engine.stop();
  await assert.rejects(
    createEngine(broken, { runtime: 'onnxruntime', executionProviders: ['cpu'] }),
    /cannot load the model/,
  );
});
