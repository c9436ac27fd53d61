// The bundled int8 demo model is what its manifest says: made by `edgeseg quantize` from the fp32
// demo model (whose sha256 it records), and `edgeseg eval` on the same 200 held-out scenes
// reproduces the int8 mIoU it records, within one point of the fp32 model's.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { loadModelDir } from '../../src/model/model-dir.js';
import { repoRoot, runCli } from '../helpers/cli.js';

const int8Dir = join(repoRoot, 'models/synthetic-road-fcn8s-int8');

test('edgeseg eval reproduces the int8 demo model mIoU recorded in its manifest', {
  timeout: 120_000,
}, async () => {
  const { manifest } = await loadModelDir(int8Dir);
  const fp32 = await readManifest(join(repoRoot, 'models/synthetic-road-fcn8s'));
  assert.equal(manifest.precision, 'int8');
  const q = manifest.quantization!;
  assert.equal(q.source.onnxSha256, fp32.files.onnxSha256, 'quantized from the bundled fp32 model');
  assert.equal(q.accuracy.samples, 200);
  assert.ok(
    Math.abs(q.accuracy.fp32MIoU - fp32.training!.validationMIoU!) < 0.002,
    'the fp32 figure is the fp32 model on the same split',
  );
  const result = await runCli(
    ['eval', '--model', 'models/synthetic-road-fcn8s-int8', '--data-source', 'synthetic-road', '--json'],
    { timeoutMs: 110_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { mIoU: number; samples: number };
  assert.equal(report.samples, 200);
  // Other CPUs may round a few pixels differently (the int8 kernels differ by instruction set).
  assert.ok(
    Math.abs(report.mIoU - q.accuracy.int8MIoU) < 0.002,
    `eval ${report.mIoU} vs manifest ${q.accuracy.int8MIoU}`,
  );
  assert.ok(
    report.mIoU > fp32.training!.validationMIoU! - 0.01,
    `int8 ${report.mIoU} within one point of fp32 ${fp32.training!.validationMIoU}`,
  );
});
