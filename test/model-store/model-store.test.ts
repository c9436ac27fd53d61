// The models path: precedence of its sources, sha256-verified atomic installs, drafted manifests.

import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { loadModelDir } from '../../src/model/model-dir.js';
import {
  draftManifest,
  installModel,
  listModels,
  resolveModelsDir,
  SYSTEM_MODELS_DIR,
} from '../../src/model-store/model-store.js';
import { FileError } from '../../src/system/errors.js';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { makeTempDir } from '../helpers/tmp.js';

test('models path: flag, then EDGESEG_MODELS_DIR, then /var/lib/edgeseg/models if present, then ./models', async () => {
  assert.equal(await resolveModelsDir('/opt/m', { EDGESEG_MODELS_DIR: '/env/m' }), '/opt/m');
  assert.equal(await resolveModelsDir(undefined, { EDGESEG_MODELS_DIR: '/env/m' }), '/env/m');
  const systemDir = await stat(SYSTEM_MODELS_DIR).catch(() => undefined);
  assert.equal(await resolveModelsDir(undefined, {}), systemDir ? SYSTEM_MODELS_DIR : resolve('models'));
});

test('install refuses a tampered model and leaves nothing behind; --force replaces', async () => {
  const root = await makeTempDir();
  const store = join(root, 'store');
  const good = join(root, 'road');
  await writeFixtureModelDir(good, { height: 8, width: 16 });
  const bad = join(root, 'bad');
  await writeFixtureModelDir(bad, { height: 8, width: 16 });
  await appendFile(join(bad, 'model.onnx'), 'x');
  await assert.rejects(installModel(bad, store), FileError);
  assert.deepEqual(await readdir(store).catch(() => []), []);

  const target = await installModel(good, store);
  assert.equal(target, join(store, 'road'));
  await loadModelDir(target);
  await assert.rejects(installModel(good, store), /already installed/);
  await writeFixtureModelDir(good, { height: 16, width: 32 });
  await installModel(good, store, { force: true });
  assert.deepEqual(await readdir(store), ['road']);
  const [listed] = await listModels(store);
  assert.equal(listed?.manifest?.input.height, 16);
});

test('a drafted manifest guesses NHWC, keeps the graph names and sizes, and says what to check', async () => {
  const dir = join(await makeTempDir(), 'keras');
  await writeFixtureModelDir(dir, {
    height: 24,
    width: 40,
    layout: 'NHWC',
    output: 'probabilities',
    inputName: 'input_1',
    outputName: 'softmax',
  });
  const { manifest, checks } = await draftManifest(join(dir, 'model.onnx'));
  assert.equal(manifest.input.name, 'input_1');
  assert.equal(manifest.input.layout, 'NHWC');
  assert.deepEqual([manifest.input.height, manifest.input.width], [24, 40]);
  assert.deepEqual(manifest.output, { name: 'softmax', kind: 'logits', layout: 'NHWC' });
  assert.equal(manifest.classes.length, 3);
  assert.ok(checks.some((check) => check.includes('channelOrder')));
  assert.ok(checks.some((check) => check.includes('probabilities')));
  const original = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  assert.equal(manifest.files.onnxSha256, original.files.onnxSha256);
});
