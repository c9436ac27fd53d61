// The acceptance check at full size: `model init --width 1` (134M parameters, ~537 MB) and
// `export` through the real CLI, then onnxruntime runs it and agrees with tfjs.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { loadModel } from '../../src/model/checkpoint.js';
import { readManifest } from '../../src/model/manifest.js';
import { mulberry32 } from '../../src/model/random.js';
import { initTf, tf } from '../../src/model/tf.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

test('full-size FCN-8s (width 1, 160x576, original head whose scoring layers start random): init, export, onnxruntime logits equal to tfjs', {
  timeout: 600_000,
}, async (t) => {
  const dir = await makeTempDir();
  const checkpoint = join(dir, 'ckpt');
  const modelDir = join(dir, 'model');
  const init = await runCli(
    [
      'model',
      'init',
      '--classes',
      '2',
      '--size',
      '160x576',
      '--width',
      '1',
      '--head',
      'original',
      '--out',
      checkpoint,
    ],
    { timeoutMs: 300_000 },
  );
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /134,\d{3},\d{3} parameters/);
  const exported = await runCli(['export', checkpoint, '--out', modelDir], { timeoutMs: 300_000 });
  assert.equal(exported.code, 0, exported.stderr);

  const manifest = await readManifest(modelDir);
  assert.equal(manifest.architecture?.width, 1);
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
    graphOptimizationLevel: 'all',
  });
  const random = mulberry32(3);
  const pixels = 160 * 576;
  const nchw = Float32Array.from({ length: 3 * pixels }, () => Math.floor(random() * 256));
  const output = (await session.run({ image: new ort.Tensor('float32', nchw, [1, 3, 160, 576]) })).logits!;
  assert.deepEqual(output.dims, [1, 2, 160, 576]);
  const onnxLogits = output.data as Float32Array;
  await session.release();

  await initTf('auto');
  const model = await loadModel(join(modelDir, 'tfjs'));
  const nhwc = new Float32Array(3 * pixels);
  for (let c = 0; c < 3; c++) for (let p = 0; p < pixels; p++) nhwc[p * 3 + c] = nchw[c * pixels + p]!;
  const tfjsLogits = tf.tidy(
    () => model.forward(tf.tensor4d(nhwc, [1, 160, 576, 3])).dataSync() as Float32Array,
  );
  model.dispose();

  let maxDiff = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let agree = 0;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 2; c++) {
      const reference = tfjsLogits[p * 2 + c]!;
      min = Math.min(min, reference);
      max = Math.max(max, reference);
      maxDiff = Math.max(maxDiff, Math.abs(onnxLogits[c * pixels + p]! - reference));
    }
    if (onnxLogits[p]! > onnxLogits[pixels + p]! === tfjsLogits[p * 2]! > tfjsLogits[p * 2 + 1]!) agree++;
  }
  assert.ok(max - min > 0, 'logits are constant: the comparison would be meaningless');
  t.diagnostic(
    `max |diff| ${maxDiff.toExponential(2)}, logits range ${(max - min).toFixed(3)}, argmax agreement ${((100 * agree) / pixels).toFixed(3)}%`,
  );
  assert.ok(maxDiff <= 1e-4 * (max - min), `max |diff| ${maxDiff} vs range ${max - min}`);
  assert.ok(agree / pixels >= 0.999, `argmax agrees on ${(100 * agree) / pixels}% of pixels`);
});
