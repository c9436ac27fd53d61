// The bundled demo models are what their manifests say: `edgeseg eval` on the held-out synthetic
// scenes reproduces the validation mIoU recorded at training time, and the files match their sha256.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { repoRoot, runCli } from '../helpers/cli.js';

/** The VGG16 demo (the paper's encoder) and the light ResNet18 demo that `npm start` runs. */
const DEMOS = [
  { dir: 'models/synthetic-road-fcn8s', family: 'fcn8s-vgg16' },
  { dir: 'models/synthetic-road-fcn8s-resnet18', family: 'fcn8s-resnet18' },
];

for (const demo of DEMOS) {
  test(`edgeseg eval reproduces the mIoU recorded in ${demo.dir}/manifest.json`, {
    timeout: 120_000,
  }, async () => {
    const manifest = await readManifest(join(repoRoot, demo.dir));
    assert.equal(manifest.architecture?.family, demo.family);
    const recorded = manifest.training?.validationMIoU;
    assert.equal(typeof recorded, 'number', 'the manifest records the validation mIoU');
    const result = await runCli(['eval', '--model', demo.dir, '--data-source', 'synthetic-road', '--json'], {
      timeoutMs: 110_000,
    });
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
}

test('the light demo is at least as accurate as the VGG16 demo (issue 22: held-out mIoU ≥ 0.871)', async () => {
  const [vgg, light] = await Promise.all(DEMOS.map((d) => readManifest(join(repoRoot, d.dir))));
  const lightMIoU = light!.training?.validationMIoU as number;
  assert.ok(lightMIoU >= (vgg!.training?.validationMIoU as number), `light ${lightMIoU}`);
  assert.ok(lightMIoU >= 0.871, `light ${lightMIoU}`);
});
