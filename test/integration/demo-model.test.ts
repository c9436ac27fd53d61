// The bundled demo model is what its manifest says: `edgeseg eval` on the held-out synthetic scenes
// reproduces the validation mIoU recorded at training time, and the files match their sha256.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { repoRoot, runCli } from '../helpers/cli.js';

const modelDir = join(repoRoot, 'models/synthetic-road-fcn8s');

test('edgeseg eval reproduces the demo model mIoU recorded in its manifest', {
  timeout: 120_000,
}, async () => {
  const manifest = await readManifest(modelDir);
  const recorded = manifest.training?.validationMIoU;
  assert.equal(typeof recorded, 'number', 'the manifest records the validation mIoU');
  const result = await runCli(
    ['eval', '--model', 'models/synthetic-road-fcn8s', '--data-source', 'synthetic-road', '--json'],
    { timeoutMs: 110_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    mIoU: number;
    samples: number;
    perClassIoU: Record<string, number>;
  };
  assert.equal(report.samples, 200, 'the 200 held-out validation scenes');
  // Training validated with tfjs, eval runs the ONNX export on onnxruntime: the same up to float noise.
  assert.ok(
    Math.abs(report.mIoU - (recorded as number)) < 0.002,
    `eval ${report.mIoU} vs manifest ${recorded}`,
  );
  assert.deepEqual(
    Object.keys(report.perClassIoU),
    manifest.classes.map((c) => c.name),
  );
});
