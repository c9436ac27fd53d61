// Model directories: a good one loads; tampered, missing and mismatched ones fail naming file and field.

import assert from 'node:assert/strict';
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { OnnxEngine } from '../../src/engine/onnx-engine.js';
import type { ModelManifest } from '../../src/model/manifest.js';
import { loadModelDir } from '../../src/model/model-dir.js';
import { FileError } from '../../src/system/errors.js';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { makeTempDir } from '../helpers/tmp.js';

const cpu = { runtime: 'onnxruntime' as const, executionProviders: ['cpu' as const] };

async function startEngine(dir: string): Promise<OnnxEngine> {
  const engine = new OnnxEngine(dir, cpu);
  await engine.start();
  return engine;
}

test('a valid model directory loads and its manifest fits the graph', async () => {
  const dir = join(await makeTempDir(), 'ok');
  await writeFixtureModelDir(dir, { height: 8, width: 12 });
  const model = await loadModelDir(dir);
  assert.equal(model.manifest.classes.length, 3);
  const engine = await startEngine(dir);
  assert.deepEqual(engine.info.outputDims, [1, 3, 8, 12]);
  await engine.stop();
});

test('a tampered model.onnx is refused naming the file and files.onnxSha256', async () => {
  const dir = join(await makeTempDir(), 'tampered');
  await writeFixtureModelDir(dir, { height: 8, width: 12 });
  await appendFile(join(dir, 'model.onnx'), Buffer.from([0]));
  await assert.rejects(loadModelDir(dir), (error: unknown) => {
    assert.ok(error instanceof FileError);
    assert.equal(error.path, join(dir, 'model.onnx'));
    assert.match(error.message, /files\.onnxSha256/);
    return true;
  });
});

test('a missing model.onnx or manifest.json is a FileError naming it', async () => {
  const root = await makeTempDir();
  const noOnnx = join(root, 'no-onnx');
  await writeFixtureModelDir(noOnnx, { height: 8, width: 12 });
  await rm(join(noOnnx, 'model.onnx'));
  await assert.rejects(loadModelDir(noOnnx), (error: unknown) => {
    assert.ok(error instanceof FileError);
    assert.equal(error.path, join(noOnnx, 'model.onnx'));
    assert.match(error.message, /files\.onnx/);
    return true;
  });
  const noManifest = join(root, 'no-manifest');
  await writeFixtureModelDir(noManifest, { height: 8, width: 12 });
  await rm(join(noManifest, 'manifest.json'));
  await assert.rejects(loadModelDir(noManifest), (error: unknown) => {
    assert.ok(error instanceof FileError);
    assert.equal(error.path, join(noManifest, 'manifest.json'));
    return true;
  });
});

async function editManifest(dir: string, edit: (manifest: ModelManifest) => void): Promise<void> {
  const path = join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(path, 'utf8'));
  edit(manifest);
  await writeFile(path, JSON.stringify(manifest));
}

test('a manifest that contradicts the graph names each wrong field', async () => {
  const root = await makeTempDir();
  const cases: Array<[string, (m: ModelManifest) => void, RegExp]> = [
    ['height', (m) => (m.input.height = 16), /input\.height: manifest says height 16, model has 8/],
    ['layout', (m) => (m.input.layout = 'NHWC'), /input\.layout/],
    [
      'classes',
      (m) => m.classes.push({ id: 3, name: 'extra', color: [1, 2, 3], ignore: false }),
      /classes: manifest says 4 classes/,
    ],
    [
      'input name',
      (m) => (m.input.name = 'input'),
      /input\.name: manifest says "input", model inputs are "image"/,
    ],
    ['output name', (m) => (m.output.name = 'out'), /output\.name/],
    ['kind', (m) => (m.output.kind = 'classIds'), /output\.kind: classIds needs an integer output/],
  ];
  for (const [label, edit, expected] of cases) {
    const dir = join(root, label.replace(' ', '-'));
    await writeFixtureModelDir(dir, { height: 8, width: 12 });
    await editManifest(dir, edit);
    await assert.rejects(startEngine(dir), (error: unknown) => {
      assert.ok(error instanceof FileError, label);
      assert.equal(error.path, join(dir, 'manifest.json'));
      assert.match(error.message, expected, label);
      assert.match(error.message, /model\.onnx/);
      return true;
    });
  }
});

test('symbolic height and width in the graph accept the manifest size', async () => {
  const dir = join(await makeTempDir(), 'dynamic');
  await writeFixtureModelDir(dir, { height: 10, width: 14, dynamicSpatial: true });
  const engine = await startEngine(dir);
  assert.deepEqual(engine.info.outputDims, [1, 3, 10, 14]);
  await engine.stop();
});
