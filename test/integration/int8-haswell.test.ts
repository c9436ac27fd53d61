// The int8 demo model on an x86 CPU without VNNI, whatever the host: `edgeseg eval` run by
// qemu-x86_64 as a Haswell (AVX2, no AVX-512 / VNNI; onnxruntime picks its `vpmaddubsw` kernels by
// CPUID, which qemu answers) must give the manifest's recorded figure exactly and say which int8
// kernels ran. On a VNNI host this is the only way the tests see that path.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { repoRoot, runCli } from '../helpers/cli.js';

const int8Dir = join(repoRoot, 'models/synthetic-road-fcn8s-int8');
/** Emulation is slow (about 40 s of CPU for 10 scenes on the 2-core development machine): a bound, not a budget. */
const TIMEOUT_MS = 540_000;

test('eval of the int8 demo as a Haswell (AVX2 without VNNI) gives the manifest figure', {
  timeout: TIMEOUT_MS,
}, async (t) => {
  const manifest = await readManifest(int8Dir);
  const check = manifest.quantization?.accuracy.quickCheck;
  assert.ok(check, `${int8Dir}/manifest.json records no quickCheck: regenerate it with edgeseg quantize`);
  const result = await runCli(
    [
      'eval',
      '--model',
      int8Dir,
      '--data-source',
      'synthetic-road',
      '--limit',
      String(check.samples),
      '--json',
    ],
    { launcher: ['qemu-x86_64-static', '-cpu', 'Haswell'], timeoutMs: TIMEOUT_MS - 10_000 },
  );
  // qemu names every Haswell feature TCG lacks (pcid, x2apic, ...) once per thread: noise.
  const stderr = result.stderr
    .split('\n')
    .filter((line) => line && !line.includes("TCG doesn't support"))
    .join('\n');
  assert.equal(result.code, 0, stderr);
  const report = JSON.parse(result.stdout) as {
    mIoU: number;
    samples: number;
    engine: { int8Kernels?: string };
  };
  t.diagnostic(
    `emulated Haswell: mIoU ${report.mIoU} on ${report.samples} scenes, manifest ${check.int8MIoU}`,
  );
  assert.equal(report.engine.int8Kernels, 'x86-no-vnni', 'onnxruntime ran its kernels for x86 without VNNI');
  assert.equal(report.samples, check.samples);
  // The same integers on every kernel family (7-bit weights): the same confusion matrix, the same mIoU.
  assert.equal(report.mIoU, check.int8MIoU);
  // Measured on this family: nothing to warn about.
  assert.doesNotMatch(stderr, /int8 kernels/);
});
