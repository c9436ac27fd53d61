// The engine on the onnxruntime release native/ builds for JetPack 4.6 (TX1, TX2): that version of
// onnxruntime-node is installed from npm into a temp folder and the unchanged engine runs the demo
// model on it (CPU) in a child process whose imports of onnxruntime-node resolve there
// (test/helpers/ort-alias). Its masks must match this process's onnxruntime's.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { onnxRuntimeVersion } from '../../src/engine/ort-binding.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { SCENE_SEEDS, segmentScenes } from './ort-compat-scenes.js';

const demoModel = join(repoRoot, 'models/synthetic-road-fcn8s');
const jetpack4Ort = /^ORT_JETPACK4_VERSION=(\S+)$/m.exec(
  readFileSync(join(repoRoot, 'native/versions.env'), 'utf8'),
)?.[1];

test(`the engine runs the demo model on onnxruntime-node ${jetpack4Ort} (JetPack 4.6's) like on ${onnxRuntimeVersion}`, {
  timeout: 300_000,
}, async () => {
  assert.ok(jetpack4Ort, 'native/versions.env names ORT_JETPACK4_VERSION');
  const prefix = await makeTempDir('edgeseg-ort-');
  // Outside the project (its package.json and lockfile stay out of it); the npm cache is npm's own.
  const install = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      prefix,
      `onnxruntime-node@${jetpack4Ort}`,
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    { cwd: prefix, encoding: 'utf8', timeout: 240_000 },
  );
  assert.equal(install.status, 0, install.stdout + install.stderr);

  const out = await makeTempDir('edgeseg-ort-out-');
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      join(repoRoot, 'test/helpers/ort-alias/register.mjs'),
      join(repoRoot, 'test/engine/ort-compat-child.ts'),
      demoModel,
      out,
    ],
    { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, EDGESEG_TEST_ORT_PREFIX: prefix } },
  );
  assert.equal(child.status, 0, child.stdout + child.stderr);
  const old = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  assert.equal(old.onnxRuntimeVersion, jetpack4Ort, 'the child really ran the other release');
  assert.ok(old.ortPackageDir.startsWith(prefix), old.ortPackageDir);
  assert.equal(old.maxOnnxOpset, 16, 'the demo model (opset 17) had to be re-stamped');
  assert.match(old.refusal, /unsupported: 'tensorrt'/, 'session options reach the native binding');
  const kept = await readdir(join(out, 'engine-cache'));
  assert.ok(
    kept.some((name) => name.endsWith('-opset16.onnx')),
    `the re-stamped copy is kept in the engine cache: ${kept}`,
  );
  assert.equal(old.info.provider, 'cpu');
  // The npm 1.11 binding accepts "cuda" and ignores it: the engine must not believe it.
  assert.match(old.info.fallbackReasons[0], /^tensorrt: onnxruntime-node 1\.11\.0 is the CPU-only npm build/);
  assert.match(old.info.fallbackReasons[1], /^cuda: onnxruntime-node 1\.11\.0 is the CPU-only npm build/);

  const current = await segmentScenes(demoModel, join(out, 'current-cache'));
  assert.deepEqual(old.info.outputDims, current.info.outputDims);
  assert.equal(old.maskWidth, current.maskWidth);
  assert.equal(old.maskHeight, current.maskHeight);
  const oldMasks = new Uint8Array(await readFile(join(out, 'masks.bin')));
  assert.equal(oldMasks.length, SCENE_SEEDS.length * current.maskWidth * current.maskHeight);
  const classes = JSON.parse(await readFile(join(demoModel, 'manifest.json'), 'utf8')).classes.length;
  assert.ok(
    oldMasks.every((id) => id < classes),
    'every class id is one of the model classes',
  );
  let differing = 0;
  for (let i = 0; i < oldMasks.length; i++) if (oldMasks[i] !== current.masks[i]) differing++;
  // Two builds of the same kernels may order float sums differently: a tie can flip, no more.
  assert.ok(differing <= oldMasks.length * 1e-4, `${differing} of ${oldMasks.length} pixels differ`);
  const oldOutput = new Float32Array((await readFile(join(out, 'output.bin'))).buffer.slice(0));
  assert.equal(oldOutput.length, current.firstOutput.length);
  let maxDiff = 0;
  for (let i = 0; i < oldOutput.length; i++)
    maxDiff = Math.max(maxDiff, Math.abs(oldOutput[i]! - current.firstOutput[i]!));
  assert.ok(maxDiff < 1e-3, `raw outputs differ by up to ${maxDiff}`);
  // The scenes are not all one class: a constant mask would also "agree".
  assert.ok(new Set(current.masks).size >= 3, 'the scenes show several classes');
});
