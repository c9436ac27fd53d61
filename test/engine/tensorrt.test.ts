// TensorRT settings on fake Jetson trees (no GPU here): what a TX1 and a TX2 on JetPack 4.6 get,
// and that the engine cache folder changes with the model, TensorRT, the precision and the GPU.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onnxRuntimeVersion } from '../../src/engine/ort-binding.js';
import {
  engineCachePath,
  jetsonGpu,
  SMALL_BOARD_WORKSPACE_BYTES,
  tensorRtSettings,
  tensorRtVersion,
} from '../../src/engine/tensorrt.js';
import type { ModelManifest } from '../../src/model/manifest.js';
import { makeBoard, orin, tx1, tx2 } from '../deploy/fake-board.js';

const cacheDir = '/var/lib/edgeseg/engine-cache';
const sha = 'ab'.repeat(32);

test('a TX2 on JetPack 4.6 gets fp16, its own engine cache folder and the ORT_TENSORRT_* variables', async () => {
  const root = await makeBoard(tx2);
  const settings = await tensorRtSettings({ fp16: true, engineCacheDir: cacheDir }, sha, root);
  assert.equal(settings.trtVersion, '8.2.1');
  assert.deepEqual(settings.gpu, { soc: 'tegra186', computeCapability: '6.2', board: 'TX2' });
  const path = `${cacheDir}/${sha.slice(0, 16)}-ort${onnxRuntimeVersion}-trt8.2.1-fp16-sm62`;
  assert.deepEqual(settings.options, {
    trt_fp16_enable: true,
    trt_timing_cache_enable: true,
    trt_engine_cache_enable: true,
    trt_engine_cache_path: path,
    trt_timing_cache_path: path,
  });
  // onnxruntime 1.11 (the TX2's) reads only these, through the legacy device-id entry point.
  assert.equal(settings.env.ORT_TENSORRT_FP16_ENABLE, '1');
  assert.equal(settings.env.ORT_TENSORRT_ENGINE_CACHE_ENABLE, '1');
  assert.equal(settings.env.ORT_TENSORRT_CACHE_PATH, path);
  assert.equal(settings.env.ORT_TENSORRT_MAX_WORKSPACE_SIZE, undefined, '8 GB: onnxruntime default');
  assert.deepEqual(settings.notes, []);
});

test('a 4 GB TX1 gets a smaller TensorRT builder workspace unless one is configured', async () => {
  const root = await makeBoard(tx1);
  const settings = await tensorRtSettings({ fp16: true, engineCacheDir: cacheDir }, sha, root);
  assert.equal(settings.gpu?.computeCapability, '5.3');
  assert.match(String(settings.options.trt_engine_cache_path), /-trt8\.2\.1-fp16-sm53$/);
  assert.equal(settings.options.trt_max_workspace_size, SMALL_BOARD_WORKSPACE_BYTES);
  assert.equal(settings.env.ORT_TENSORRT_MAX_WORKSPACE_SIZE, String(SMALL_BOARD_WORKSPACE_BYTES));
  assert.match(settings.notes.join('\n'), /builder workspace 256 MiB: 4 GiB board/);
  const configured = await tensorRtSettings({ fp16: true, workspaceSizeBytes: 1 << 29 }, sha, root);
  assert.equal(configured.options.trt_max_workspace_size, 1 << 29);
  assert.equal(configured.options.trt_engine_cache_enable, undefined, 'no cache folder, no cache');
});

test('the engine cache is invalidated by a new model, TensorRT, precision or GPU', async () => {
  const base = engineCachePath(cacheDir, sha, '8.2.1', { fp16: true, computeCapability: '6.2' });
  const changed = [
    engineCachePath(cacheDir, 'cd'.repeat(32), '8.2.1', { fp16: true, computeCapability: '6.2' }),
    engineCachePath(cacheDir, sha, '8.2.3', { fp16: true, computeCapability: '6.2' }),
    engineCachePath(cacheDir, sha, '8.2.1', { fp16: false, computeCapability: '6.2' }),
    engineCachePath(cacheDir, sha, '8.2.1', { fp16: true, computeCapability: '5.3' }),
  ];
  assert.equal(new Set([base, ...changed]).size, 5, [base, ...changed].join('\n'));
  // The same board and model find the same folder again: only the first start builds.
  const root = await makeBoard(tx2);
  const first = await tensorRtSettings({ fp16: true, engineCacheDir: cacheDir }, sha, root);
  const again = await tensorRtSettings({ fp16: true, engineCacheDir: cacheDir }, sha, root);
  assert.equal(first.options.trt_engine_cache_path, again.options.trt_engine_cache_path);
  assert.equal(first.options.trt_engine_cache_path, base);
  // A TensorRT upgrade on the board (a newer JetPack 4.6.x point release) moves to a new folder.
  const upgraded = await tensorRtSettings(
    { fp16: true, engineCacheDir: cacheDir },
    sha,
    await makeBoard({ ...tx2, tensorrt: [8, 2, 3] }),
  );
  assert.notEqual(upgraded.options.trt_engine_cache_path, base);
});

test('TensorRT 10 headers (defines through TRT_*_ENTERPRISE) and boards without TensorRT or a known SoC', async () => {
  assert.equal(await tensorRtVersion(await makeBoard(orin)), '10.3.0');
  assert.equal(await tensorRtVersion(await makeBoard({ ...tx2, tensorrt: undefined })), undefined);
  assert.equal(await jetsonGpu(await makeBoard({ ...tx2, soc: 'tegra999' })), undefined);
  const bare = await tensorRtSettings({ fp16: true, engineCacheDir: cacheDir }, sha, await makeBoard({}));
  assert.match(String(bare.options.trt_engine_cache_path), /-trtunknown-fp16$/);
});

test('an int8 (QDQ) model gets the INT8 builder flag, and a uint8-activation one a note that TensorRT will refuse it', async () => {
  const root = await makeBoard(orin);
  const fp32 = await tensorRtSettings({ fp16: true }, sha, root);
  assert.equal(fp32.options.trt_int8_enable, undefined);
  assert.equal(fp32.env.ORT_TENSORRT_INT8_ENABLE, '0');
  const quantization = (activations: 'int8' | 'uint8') =>
    ({ activations }) as unknown as NonNullable<ModelManifest['quantization']>;
  const forTensorRt = await tensorRtSettings({ fp16: true }, sha, root, {
    precision: 'int8',
    quantization: quantization('int8'),
  });
  // Explicit quantization: the Q/DQ scales are the calibration, so no calibration table goes with it.
  assert.equal(forTensorRt.options.trt_int8_enable, true);
  assert.equal(forTensorRt.env.ORT_TENSORRT_INT8_ENABLE, '1');
  assert.deepEqual(forTensorRt.notes, []);
  const forCpu = await tensorRtSettings({ fp16: true }, sha, root, {
    precision: 'int8',
    quantization: quantization('uint8'),
  });
  assert.match(forCpu.notes.join('\n'), /--activations int8/);
});
