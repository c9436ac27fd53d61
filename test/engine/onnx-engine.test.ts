// Execution-provider fallback and engine cache naming, on a real onnxruntime session.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { createEngine, parseProviders } from '../../src/engine/create.js';
import { engineCachePath, OnnxEngine, tensorRtProviderOptions } from '../../src/engine/onnx-engine.js';
import { UserError } from '../../src/system/errors.js';
import { makeTempDir } from '../helpers/tmp.js';
import { writeFixtureModelDir } from './fixtures.js';

const gpuBundled = ort
  .listSupportedBackends()
  .some((backend) => (backend.name === 'cuda' || backend.name === 'tensorrt') && backend.bundled);

test('tensorrt,cuda fall back to cpu and every fallback carries its reason', {
  skip: gpuBundled,
}, async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 8, width: 8 });
  const engine = await createEngine(dir, {
    runtime: 'onnxruntime',
    executionProviders: ['tensorrt', 'cuda', 'cpu'],
    tensorrt: { fp16: true, engineCacheDir: join(dir, 'cache') },
  });
  assert.equal(engine.info.runtime, 'onnxruntime');
  assert.equal(engine.info.provider, 'cpu');
  assert.equal(engine.info.fallbackReasons.length, 2);
  assert.match(engine.info.fallbackReasons[0]!, /^tensorrt: .+/);
  assert.match(engine.info.fallbackReasons[1]!, /^cuda: .+/);
  // The engine still segments after falling back.
  const output = await engine.run(new Float32Array(3 * 64).fill(1));
  assert.equal(output.length, 3 * 64);
  await engine.stop();
});

test('the TensorRT engine cache is per model sha256, onnxruntime and TensorRT version', () => {
  const a = engineCachePath('/var/lib/edgeseg/engine-cache', 'a'.repeat(64), '8.6.2');
  const b = engineCachePath('/var/lib/edgeseg/engine-cache', 'b'.repeat(64), '8.6.2');
  const c = engineCachePath('/var/lib/edgeseg/engine-cache', 'a'.repeat(64), '10.3.0');
  assert.notEqual(a, b);
  assert.notEqual(a, c);
  assert.ok(a.startsWith('/var/lib/edgeseg/engine-cache/'));
  assert.ok(a.includes(`ort${ort.env.versions.common}`));
  const options = tensorRtProviderOptions({ fp16: true, workspaceSizeBytes: 1 << 30 }, a);
  assert.deepEqual(options, {
    trt_fp16_enable: true,
    trt_timing_cache_enable: true,
    trt_engine_cache_enable: true,
    trt_engine_cache_path: a,
    trt_timing_cache_path: a,
    trt_max_workspace_size: 1 << 30,
  });
});

test('provider lists are parsed and unknown names rejected', () => {
  assert.deepEqual(parseProviders('tensorrt, cuda,cpu'), ['tensorrt', 'cuda', 'cpu']);
  assert.throws(() => parseProviders('tensorrt,opencl'), UserError);
});

test('a file that is not an ONNX model is a clear error naming it', async () => {
  const dir = join(await makeTempDir(), 'broken');
  await writeFixtureModelDir(dir, { height: 8, width: 8 });
  const { writeFile, readFile } = await import('node:fs/promises');
  const { sha256File } = await import('../../src/system/fs.js');
  await writeFile(join(dir, 'model.onnx'), 'not a model');
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  manifest.files.onnxSha256 = await sha256File(join(dir, 'model.onnx'));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const engine = new OnnxEngine(dir, { runtime: 'onnxruntime', executionProviders: ['cpu'] });
  await assert.rejects(engine.start(), /model\.onnx: onnxruntime cannot load the model/);
});
