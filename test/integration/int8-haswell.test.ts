// The int8 demo model on an x86 CPU without VNNI, whatever the host: `edgeseg eval` run by
// qemu-x86_64 as a Haswell (AVX2, no AVX-512 / VNNI; onnxruntime picks its `vpmaddubsw` kernels by
// CPUID, which qemu answers) must give the manifest's recorded figure exactly and say which int8
// kernels ran. On a VNNI host this is the only way the tests see that path.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { repoRoot } from '../helpers/cli.js';

const int8Dir = join(repoRoot, 'models/synthetic-road-fcn8s-int8');
/** Emulation is slow (about 40 s of CPU for 10 scenes on the 2-core development machine): a bound, not a budget. */
const TIMEOUT_MS = 540_000;

function runEmulated(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'qemu-x86_64-static',
      ['-cpu', 'Haswell', process.execPath, '--import', 'tsx', join(repoRoot, 'src/cli/index.ts'), ...args],
      { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS - 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      // qemu names every Haswell feature TCG lacks (pcid, x2apic, ...) once per thread: noise.
      const ours = stderr.split('\n').filter((line) => line && !line.includes("TCG doesn't support"));
      resolve({ code, stdout, stderr: ours.join('\n') });
    });
  });
}

test('eval of the int8 demo as a Haswell (AVX2 without VNNI) gives the manifest figure', {
  timeout: TIMEOUT_MS,
}, async (t) => {
  const manifest = await readManifest(int8Dir);
  const check = manifest.quantization?.accuracy.quickCheck;
  assert.ok(check, `${int8Dir}/manifest.json records no quickCheck: regenerate it with edgeseg quantize`);
  const result = await runEmulated([
    'eval',
    '--model',
    int8Dir,
    '--data-source',
    'synthetic-road',
    '--limit',
    String(check.samples),
    '--json',
  ]);
  assert.equal(result.code, 0, result.stderr);
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
  assert.doesNotMatch(result.stderr, /int8 kernels/);
});
