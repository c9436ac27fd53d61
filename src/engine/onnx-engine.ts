// InferenceEngine over onnxruntime-node: walks the execution-provider chain (tensorrt → cuda → cpu),
// records why each provider was skipped, checks the manifest against the graph, warms up, and runs
// frames over input/output tensors that wrap reused buffers.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import type { ModelManifest } from '../model/manifest.js';
import { errorMessage, FileError, UserError } from '../system/errors.js';
import { type Logger, silentLogger } from '../system/log.js';
import { assertManifestFitsModel, loadModelDir, type ModelDir, type OnnxIo } from './model-dir.js';
import type { EngineInfo, EngineOptions, ExecutionProviderName, InferenceEngine } from './types.js';

type OutputArray = Float32Array | Int32Array | BigInt64Array | Uint8Array;

// The native "failed to load provider library" lines are noise next to our own fallback report.
ort.env.logLevel = (process.env.EDGESEG_ORT_LOG_LEVEL as typeof ort.env.logLevel | undefined) ?? 'fatal';

export const onnxRuntimeVersion: string = ort.env.versions.common ?? 'unknown';

const TENSORRT_HEADERS = [
  '/usr/include/aarch64-linux-gnu/NvInferVersion.h',
  '/usr/include/x86_64-linux-gnu/NvInferVersion.h',
  '/usr/include/NvInferVersion.h',
  '/usr/local/cuda/include/NvInferVersion.h',
];

/** The installed TensorRT version from its header, or undefined where TensorRT is not installed. */
export async function tensorRtVersion(): Promise<string | undefined> {
  for (const header of TENSORRT_HEADERS) {
    let text: string;
    try {
      text = await readFile(header, 'utf8');
    } catch {
      continue;
    }
    const part = (name: string) => new RegExp(`#define\\s+NV_TENSORRT_${name}\\s+(\\d+)`).exec(text)?.[1];
    const major = part('MAJOR');
    if (major) return [major, part('MINOR') ?? '0', part('PATCH') ?? '0'].join('.');
  }
  return undefined;
}

/**
 * Engine cache folder for one model: built engines depend on the graph, onnxruntime and TensorRT,
 * so all three are in the name and an upgrade never picks up a stale engine.
 */
export function engineCachePath(
  cacheRoot: string,
  onnxSha256: string,
  trtVersion: string | undefined,
): string {
  return join(cacheRoot, `${onnxSha256.slice(0, 16)}-ort${onnxRuntimeVersion}-trt${trtVersion ?? 'unknown'}`);
}

/**
 * onnxruntime's TensorRT provider options, by their onnxruntime names. An int8 (QDQ) model needs
 * TensorRT's INT8 builder flag: its Q/DQ scales are the calibration (explicit quantisation), so no
 * calibration table is given.
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

// The npm binding registers TensorRT through the legacy device-id entry point, which reads the
// provider settings from ORT_TENSORRT_* variables; a custom Jetson build may take them inline too.
function exportTensorRtEnv(trt: Record<string, string | number | boolean>): void {
  const env: Record<string, string> = {
    ORT_TENSORRT_FP16_ENABLE: trt.trt_fp16_enable ? '1' : '0',
    ORT_TENSORRT_TIMING_CACHE_ENABLE: trt.trt_timing_cache_enable ? '1' : '0',
  };
  // Set either way: the variable outlives the model it was set for (the daemon can switch models).
  env.ORT_TENSORRT_INT8_ENABLE = trt.trt_int8_enable ? '1' : '0';
  if (trt.trt_engine_cache_enable) {
    env.ORT_TENSORRT_ENGINE_CACHE_ENABLE = '1';
    env.ORT_TENSORRT_CACHE_PATH = String(trt.trt_engine_cache_path);
  }
  if (trt.trt_max_workspace_size !== undefined)
    env.ORT_TENSORRT_MAX_WORKSPACE_SIZE = String(trt.trt_max_workspace_size);
  Object.assign(process.env, env);
}

/** Why a provider cannot be tried at all in this build, or undefined when it may work. */
function providerUnavailableReason(provider: ExecutionProviderName): string | undefined {
  if (provider === 'cpu') return undefined;
  const known = ort.listSupportedBackends().find((backend) => backend.name === provider);
  if (!known) return `${provider}: not supported by this onnxruntime-node build (${onnxRuntimeVersion})`;
  return undefined;
}

function ioOf(session: ort.InferenceSession): OnnxIo {
  const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]) =>
    meta.map((value) =>
      value.isTensor
        ? { name: value.name, type: value.type as string, shape: value.shape }
        : { name: value.name, type: 'non-tensor', shape: [] },
    );
  return { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
}

interface IoSlot {
  inputTensor: ort.Tensor;
  /** For uint8-input models: the float frame is converted into this buffer. */
  uint8Input: Uint8Array | undefined;
  outputTensor: ort.Tensor | undefined;
}

export class OnnxEngine implements InferenceEngine {
  readonly modelDir: string;
  private readonly options: EngineOptions;
  private readonly logger: Logger;
  private model: ModelDir | undefined;
  private session: ort.InferenceSession | undefined;
  private started: Promise<void> | undefined;
  private engineInfo: EngineInfo | undefined;
  /** Tensors wrapping each caller buffer, so that a frame never allocates a tensor or an output. */
  private readonly slots = new Map<Float32Array, IoSlot>();

  constructor(modelDir: string, options: EngineOptions, model?: ModelDir) {
    this.modelDir = modelDir;
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.model = model;
  }

  get manifest(): ModelManifest {
    if (!this.model) throw new Error('OnnxEngine: manifest read before start()');
    return this.model.manifest;
  }

  get info(): EngineInfo {
    if (!this.engineInfo) throw new Error('OnnxEngine: info read before start()');
    return this.engineInfo;
  }

  /** The underlying session (bench measures it bare as the reference). */
  get rawSession(): ort.InferenceSession {
    if (!this.session) throw new Error('OnnxEngine: session used before start()');
    return this.session;
  }

  start(): Promise<void> {
    this.started ??= this.load();
    return this.started;
  }

  private async load(): Promise<void> {
    this.model ??= await loadModelDir(this.modelDir, { verifySha256: this.options.skipSha256 !== true });
    const model = this.model;
    const chain = [...this.options.executionProviders.filter((p) => p !== 'cpu'), 'cpu' as const];
    const fallbackReasons: string[] = [];
    const trtVersion = chain.includes('tensorrt') ? await tensorRtVersion() : undefined;
    for (const [index, provider] of chain.entries()) {
      const unavailable = providerUnavailableReason(provider);
      if (unavailable) {
        fallbackReasons.push(unavailable);
        this.logger.warn({ provider, reason: unavailable }, `execution provider ${provider} skipped`);
        continue;
      }
      const providers = chain.slice(index).map((name) => this.providerConfig(name, model, trtVersion));
      try {
        this.session = await ort.InferenceSession.create(model.onnxPath, {
          executionProviders: providers,
          graphOptimizationLevel: 'all',
          intraOpNumThreads: this.options.intraOpThreads ?? 0,
          logSeverityLevel: 3,
        });
      } catch (error) {
        const bundled = ort.listSupportedBackends().find((backend) => backend.name === provider)?.bundled;
        const note = bundled === false ? ' (not bundled with this onnxruntime-node build; see native/)' : '';
        const reason = `${provider}: ${errorMessage(error).split('\n')[0]}${note}`;
        if (provider === 'cpu') {
          throw new FileError(model.onnxPath, `onnxruntime cannot load the model: ${errorMessage(error)}`, {
            cause: error,
            hint: 'check that the file is an ONNX model (opset <= 21) and not truncated',
          });
        }
        fallbackReasons.push(reason);
        this.logger.warn({ provider, reason }, `execution provider ${provider} unavailable, falling back`);
        continue;
      }
      const axes =
        model.manifest.input.layout === 'NCHW'
          ? [1, 3, model.manifest.input.height, model.manifest.input.width]
          : [1, model.manifest.input.height, model.manifest.input.width, 3];
      this.engineInfo = {
        runtime: 'onnxruntime',
        provider,
        fallbackReasons,
        inputDims: axes,
        outputDims: [],
      };
      break;
    }
    if (!this.session || !this.engineInfo)
      throw new UserError('no onnxruntime execution provider could start');
    assertManifestFitsModel(model, ioOf(this.session));
    await this.warmUp();
    this.logger.info(
      {
        model: model.dir,
        provider: this.engineInfo.provider,
        fallbackReasons,
        outputDims: this.engineInfo.outputDims,
      },
      `onnxruntime ${onnxRuntimeVersion} ready on ${this.engineInfo.provider}`,
    );
  }

  private providerConfig(
    provider: ExecutionProviderName,
    model: ModelDir,
    trtVersion: string | undefined,
  ): ort.InferenceSession.ExecutionProviderConfig {
    if (provider === 'cpu') return 'cpu';
    if (provider === 'cuda') return { name: 'cuda', deviceId: 0 };
    const cacheRoot = this.options.tensorrt?.engineCacheDir;
    const cachePath = cacheRoot
      ? engineCachePath(cacheRoot, model.manifest.files.onnxSha256, trtVersion)
      : undefined;
    if (model.manifest.quantization?.activations === 'uint8')
      this.logger.warn(
        { model: model.dir },
        'uint8 activations have non-zero zero points, which TensorRT does not take: quantize with --activations int8 for TensorRT',
      );
    const trt = tensorRtProviderOptions(this.options.tensorrt, cachePath, model.manifest.precision);
    exportTensorRtEnv(trt);
    return { name: 'tensorrt', deviceId: 0, ...trt } as ort.InferenceSession.ExecutionProviderConfig;
  }

  /** One run on a zero frame: pays the first-run cost up front and learns the output dims. */
  private async warmUp(): Promise<void> {
    const info = this.info;
    const warmInput = new Float32Array(info.inputDims.reduce((a, b) => a * b, 1));
    const feeds = { [this.manifest.input.name]: this.inputTensorFor(warmInput).inputTensor };
    const results = await this.rawSession.run(feeds);
    const output = results[this.manifest.output.name];
    if (!output)
      throw new FileError(this.model!.onnxPath, `model produced no output "${this.manifest.output.name}"`);
    info.outputDims = [...output.dims];
    this.slots.delete(warmInput);
  }

  private inputTensorFor(input: Float32Array): IoSlot {
    let slot = this.slots.get(input);
    if (slot) return slot;
    const dims = this.info.inputDims;
    const expected = dims.reduce((a, b) => a * b, 1);
    if (input.length !== expected)
      throw new RangeError(
        `input has ${input.length} values, the model takes ${expected} (${dims.join('x')})`,
      );
    if (this.manifest.input.dtype === 'uint8') {
      const uint8Input = new Uint8Array(expected);
      slot = { inputTensor: new ort.Tensor('uint8', uint8Input, dims), uint8Input, outputTensor: undefined };
    } else {
      slot = {
        inputTensor: new ort.Tensor('float32', input, dims),
        uint8Input: undefined,
        outputTensor: undefined,
      };
    }
    // A caller normally alternates between one or two buffers; bound the map against misuse.
    if (this.slots.size >= 8) this.slots.clear();
    this.slots.set(input, slot);
    return slot;
  }

  private outputTensorFor(slot: IoSlot): ort.Tensor | undefined {
    if (slot.outputTensor) return slot.outputTensor;
    const dims = this.info.outputDims;
    const size = dims.reduce((a, b) => a * b, 1);
    const kind = this.manifest.output.kind;
    // Preallocate only for float outputs; integer class-id outputs come in whatever int type the graph says.
    if (kind === 'classIds') return undefined;
    slot.outputTensor = new ort.Tensor('float32', new Float32Array(size), dims);
    return slot.outputTensor;
  }

  async run(input: Float32Array): Promise<OutputArray> {
    const session = this.rawSession;
    const slot = this.inputTensorFor(input);
    if (slot.uint8Input) {
      const bytes = slot.uint8Input;
      // +0.5 then the Uint8Array's truncation rounds the (non-negative) interpolated pixel.
      for (let i = 0; i < input.length; i++) bytes[i] = input[i]! + 0.5;
    }
    const outputName = this.manifest.output.name;
    const feeds = { [this.manifest.input.name]: slot.inputTensor };
    const outputTensor = this.outputTensorFor(slot);
    if (outputTensor) {
      await session.run(feeds, { [outputName]: outputTensor });
      return outputTensor.data as Float32Array;
    }
    const results = await session.run(feeds);
    return results[outputName]!.data as OutputArray;
  }

  async stop(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.slots.clear();
    this.started = undefined;
    if (session) await session.release();
  }
}
