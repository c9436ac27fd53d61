// TensorRT settings for a session: which TensorRT and which Jetson GPU the board has (read from
// files under a root folder, so a fake board tree can stand in), whether fp16 pays off on that GPU,
// the engine cache folder (one per model, onnxruntime, TensorRT, precision and GPU), and the
// provider options both ways onnxruntime takes them: inline, and as ORT_TENSORRT_* variables, which
// is all the legacy device-id entry point (onnxruntime 1.11's, via native/patches) reads.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelManifest } from '../model/manifest.js';
import { onnxRuntimeVersion } from './ort-binding.js';
import type { EngineOptions } from './types.js';

const TENSORRT_HEADERS = [
  '/usr/include/aarch64-linux-gnu/NvInferVersion.h',
  '/usr/include/x86_64-linux-gnu/NvInferVersion.h',
  '/usr/include/NvInferVersion.h',
  '/usr/local/cuda/include/NvInferVersion.h',
];

async function readUnder(root: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The installed TensorRT version from its header (TensorRT 10 defines NV_TENSORRT_MAJOR through
 * TRT_MAJOR_ENTERPRISE and the like, followed one level), or undefined without TensorRT.
 */
export async function tensorRtVersion(root = '/'): Promise<string | undefined> {
  for (const header of TENSORRT_HEADERS) {
    const text = await readUnder(root, header);
    if (text === undefined) continue;
    const define = (name: string): string | undefined => {
      const value = new RegExp(`^#define\\s+${name}\\s+(\\w+)`, 'm').exec(text)?.[1];
      if (value === undefined || /^\d+$/.test(value)) return value;
      return new RegExp(`^#define\\s+${value}\\s+(\\d+)`, 'm').exec(text)?.[1];
    };
    const major = define('NV_TENSORRT_MAJOR');
    if (major)
      return [major, define('NV_TENSORRT_MINOR') ?? '0', define('NV_TENSORRT_PATCH') ?? '0'].join('.');
  }
  return undefined;
}

/**
 * Jetson SoCs by device-tree name and their GPU's compute capability. Every one of them has fast
 * fp16 (sm_53 and sm_62 included, unlike desktop Pascal's sm_61) and none before Xavier fast int8,
 * so edgeseg uses fp16 (engine.tensorrt_fp16, on by default); int8 only for an int8 (QDQ) model.
 */
const JETSON_GPUS: Record<string, { computeCapability: string; board: string }> = {
  tegra210: { computeCapability: '5.3', board: 'TX1 / Nano' },
  tegra186: { computeCapability: '6.2', board: 'TX2' },
  tegra194: { computeCapability: '7.2', board: 'Xavier' },
  tegra234: { computeCapability: '8.7', board: 'Orin' },
};

export interface JetsonGpu {
  soc: string;
  computeCapability: string;
  board: string;
}

/** The Jetson GPU from /proc/device-tree/compatible, or undefined off a (known) Jetson. */
export async function jetsonGpu(root = '/'): Promise<JetsonGpu | undefined> {
  const compatible = await readUnder(root, '/proc/device-tree/compatible');
  for (const entry of compatible?.split('\0') ?? []) {
    const soc = /^nvidia,(tegra\d+)$/.exec(entry)?.[1];
    const gpu = soc ? JETSON_GPUS[soc] : undefined;
    if (soc && gpu) return { soc, ...gpu };
  }
  return undefined;
}

/**
 * Engine cache folder for one model. A built engine depends on the graph, onnxruntime, TensorRT,
 * the precision and the GPU, and onnxruntime's own cache names do not cover the weights (only the
 * graph's structure), so all of them are in the folder name and a change never meets a stale engine.
 */
export function engineCachePath(
  cacheRoot: string,
  onnxSha256: string,
  trtVersion: string | undefined,
  variant: { fp16?: boolean; computeCapability?: string | undefined } = {},
): string {
  const precision = variant.fp16 === undefined ? '' : variant.fp16 ? '-fp16' : '-fp32';
  const gpu = variant.computeCapability ? `-sm${variant.computeCapability.replace('.', '')}` : '';
  return join(
    cacheRoot,
    `${onnxSha256.slice(0, 16)}-ort${onnxRuntimeVersion}-trt${trtVersion ?? 'unknown'}${precision}${gpu}`,
  );
}

/**
 * onnxruntime's TensorRT provider options, by their onnxruntime names. An int8 (QDQ) model needs
 * TensorRT's INT8 builder flag (TensorRT 8 refuses a Q/DQ network without it); its Q/DQ scales are
 * the calibration (explicit quantization), so no calibration table is given.
 */
export function tensorRtProviderOptions(
  options: EngineOptions['tensorrt'],
  cachePath: string | undefined,
  precision: ModelManifest['precision'] = 'fp32',
): Record<string, string | number | boolean> {
  const trt: Record<string, string | number | boolean> = {
    trt_fp16_enable: options?.fp16 ?? false,
    trt_timing_cache_enable: options?.timingCache ?? true,
  };
  if (precision === 'int8') trt.trt_int8_enable = true;
  if (cachePath) {
    trt.trt_engine_cache_enable = true;
    trt.trt_engine_cache_path = cachePath;
    if (trt.trt_timing_cache_enable) trt.trt_timing_cache_path = cachePath;
  }
  if (options?.workspaceSizeBytes !== undefined) trt.trt_max_workspace_size = options.workspaceSizeBytes;
  return trt;
}

/**
 * The same settings as ORT_TENSORRT_* variables. onnxruntime 1.11 reads ORT_TENSORRT_CACHE_PATH,
 * later releases ORT_TENSORRT_ENGINE_CACHE_PATH; both are set. 1.11 has no timing cache and
 * ignores that variable.
 */
export function tensorRtEnv(trt: Record<string, string | number | boolean>): Record<string, string> {
  const env: Record<string, string> = {
    ORT_TENSORRT_FP16_ENABLE: trt.trt_fp16_enable ? '1' : '0',
    // Set either way: the variable outlives the model it was set for (the daemon can switch models).
    ORT_TENSORRT_INT8_ENABLE: trt.trt_int8_enable ? '1' : '0',
    ORT_TENSORRT_TIMING_CACHE_ENABLE: trt.trt_timing_cache_enable ? '1' : '0',
  };
  if (trt.trt_engine_cache_enable) {
    env.ORT_TENSORRT_ENGINE_CACHE_ENABLE = '1';
    env.ORT_TENSORRT_CACHE_PATH = String(trt.trt_engine_cache_path);
    env.ORT_TENSORRT_ENGINE_CACHE_PATH = String(trt.trt_engine_cache_path);
  }
  if (trt.trt_max_workspace_size !== undefined)
    env.ORT_TENSORRT_MAX_WORKSPACE_SIZE = String(trt.trt_max_workspace_size);
  return env;
}

/** Builder workspace on boards with at most this much memory (RAM shared with the GPU). */
const SMALL_BOARD_BYTES = 4.5 * 2 ** 30;
export const SMALL_BOARD_WORKSPACE_BYTES = 256 * 2 ** 20;

export interface TensorRtSettings {
  /** Inline provider options (onnxruntime names). */
  options: Record<string, string | number | boolean>;
  /** The same as ORT_TENSORRT_* variables. */
  env: Record<string, string>;
  trtVersion: string | undefined;
  gpu: JetsonGpu | undefined;
  /** Why a requested setting was changed for this board, for the log. */
  notes: string[];
}

/**
 * The TensorRT settings for one model on this board (`root` is "/" except in tests): fp16 as
 * asked, int8 for an int8 (QDQ) model, a smaller builder workspace on 4 GB boards unless one is
 * given, and the engine cache folder for this model, this precision and this GPU.
 */
export async function tensorRtSettings(
  requested: EngineOptions['tensorrt'],
  onnxSha256: string,
  root = '/',
  model: Pick<ModelManifest, 'precision' | 'quantization'> = { precision: 'fp32' },
): Promise<TensorRtSettings> {
  const [trtVersion, gpu, meminfo] = await Promise.all([
    tensorRtVersion(root),
    jetsonGpu(root),
    readUnder(root, '/proc/meminfo'),
  ]);
  const notes: string[] = [];
  if (model.quantization?.activations === 'uint8')
    notes.push(
      'uint8 activations have non-zero zero points, which TensorRT does not take: quantize with --activations int8 for TensorRT',
    );
  const fp16 = requested?.fp16 ?? false;
  let workspaceSizeBytes = requested?.workspaceSizeBytes;
  const memTotalKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(meminfo ?? '')?.[1] ?? 0);
  if (workspaceSizeBytes === undefined && memTotalKb > 0 && memTotalKb * 1024 <= SMALL_BOARD_BYTES) {
    workspaceSizeBytes = SMALL_BOARD_WORKSPACE_BYTES;
    notes.push(
      `builder workspace ${SMALL_BOARD_WORKSPACE_BYTES / 2 ** 20} MiB: ${Math.round(memTotalKb / 2 ** 20)} GiB board`,
    );
  }
  const cachePath = requested?.engineCacheDir
    ? engineCachePath(requested.engineCacheDir, onnxSha256, trtVersion, {
        fp16,
        computeCapability: gpu?.computeCapability,
      })
    : undefined;
  const options = tensorRtProviderOptions(
    { ...requested, fp16, workspaceSizeBytes },
    cachePath,
    model.precision,
  );
  return { options, env: tensorRtEnv(options), trtVersion, gpu, notes };
}
