// InferenceEngine over onnxruntime-node: walks the execution-provider chain (tensorrt → cuda → cpu),
// records why each provider was skipped, checks the manifest against the graph, warms up, and runs
// frames over input tensors that wrap reused buffers.

import { performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { assertManifestFitsModel, type ModelDir } from '../model/model-dir.js';
import { afterStart, errorMessage, FileError, UserError } from '../system/errors.js';
import { EngineBase } from './engine-base.js';
import { int8KernelFamily } from './int8-kernels.js';
import { createCachedCpuSession } from './model-cache.js';
import {
  createSession,
  onnxRuntimeVersion,
  providerFailureNote,
  providerUnavailableReason,
  type RestampCache,
  releaseSession,
  sessionIo,
} from './ort-binding.js';
import { sessionOptions } from './session-options.js';
import { tensorRtEnv, tensorRtSettings } from './tensorrt.js';
import type { EngineInfo, EngineOptions, ExecutionProviderName, InferenceEngine } from './types.js';

type OutputArray = Float32Array | Int32Array | BigInt64Array | Uint8Array;

// The native "failed to load provider library" lines are noise next to our own fallback report.
ort.env.logLevel = (process.env.EDGESEG_ORT_LOG_LEVEL as typeof ort.env.logLevel | undefined) ?? 'fatal';

export { onnxRuntimeVersion } from './ort-binding.js';
export { engineCachePath, tensorRtProviderOptions, tensorRtVersion } from './tensorrt.js';

interface IoSlot {
  inputTensor: ort.Tensor;
  /** For uint8-input models: the float frame is converted into this buffer. */
  uint8Input: Uint8Array | undefined;
}

export class OnnxEngine extends EngineBase implements InferenceEngine {
  private session: ort.InferenceSession | undefined;
  /** Tensors wrapping each caller buffer, so that a frame never allocates an input tensor. */
  private readonly slots = new Map<Float32Array, IoSlot>();
  /** Wall time of the last run() in session.run. */
  lastRunMs = 0;
  private lastFeeds: Record<string, ort.Tensor> | undefined;

  constructor(modelDir: string, options: EngineOptions, model?: ModelDir) {
    super('OnnxEngine', modelDir, options, model);
  }

  /** The underlying session (bench measures it bare as the reference). */
  get rawSession(): ort.InferenceSession {
    return afterStart(this.session, this.name, 'session used');
  }

  protected async load(): Promise<void> {
    const model = await this.loadModelFolder();
    const chain = [...this.options.executionProviders.filter((p) => p !== 'cpu'), 'cpu' as const];
    const fallbackReasons: string[] = [...(this.options.knownFallbackReasons ?? [])];
    const trt = chain.includes('tensorrt')
      ? await tensorRtSettings(this.options.tensorrt, model.manifest.files.onnxSha256, '/', model.manifest)
      : undefined;
    if (trt?.notes.length) this.logger.info({ notes: trt.notes }, 'TensorRT settings for this board');
    let modelCache: EngineInfo['modelCache'] = 'off';
    for (const [index, provider] of chain.entries()) {
      const unavailable = providerUnavailableReason(provider);
      if (unavailable) {
        fallbackReasons.push(unavailable);
        this.logger.warn({ provider, reason: unavailable }, `execution provider ${provider} skipped`);
        continue;
      }
      const providers = chain.slice(index).map((name) => this.providerConfig(name, trt?.options));
      try {
        const options = sessionOptions(this.options, providers);
        // The optimised-model cache holds CPU kernels only; TensorRT has its own engine cache.
        const created =
          provider === 'cpu'
            ? await createCachedCpuSession(
                model.onnxPath,
                model.manifest.files.onnxSha256,
                options,
                this.options.optimizedModelCacheDir,
                this.logger,
                this.restampCache(model),
              )
            : {
                session: await createSession(model.onnxPath, options, this.restampCache(model)),
                modelCache: 'off' as const,
              };
        this.session = created.session;
        modelCache = created.modelCache;
      } catch (error) {
        const reason = `${provider}: ${errorMessage(error).split('\n')[0]}${providerFailureNote(provider)}`;
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
        modelCache,
        thread: isMainThread ? 'main' : 'worker',
        ...(provider === 'cpu' && model.manifest.precision === 'int8'
          ? { int8Kernels: await int8KernelFamily() }
          : {}),
      };
      break;
    }
    if (!this.session || !this.engineInfo)
      throw new UserError('no onnxruntime execution provider could start');
    assertManifestFitsModel(model, sessionIo(this.session));
    await this.warmUp();
    this.logger.info(
      {
        model: model.dir,
        provider: this.engineInfo.provider,
        ...(this.engineInfo.int8Kernels ? { int8Kernels: this.engineInfo.int8Kernels } : {}),
        fallbackReasons,
        outputDims: this.engineInfo.outputDims,
      },
      `onnxruntime ${onnxRuntimeVersion} ready on ${this.engineInfo.provider}`,
    );
  }

  private providerConfig(
    provider: ExecutionProviderName,
    trt: Record<string, string | number | boolean> | undefined,
  ): ort.InferenceSession.ExecutionProviderConfig {
    if (provider === 'cpu') return 'cpu';
    if (provider === 'cuda') return { name: 'cuda', deviceId: 0 };
    // The npm binding and 1.11's register TensorRT through the device-id entry point, which reads
    // ORT_TENSORRT_* variables; a build that takes the options inline gets them too.
    Object.assign(process.env, tensorRtEnv(trt ?? {}));
    return { name: 'tensorrt', deviceId: 0, ...trt } as ort.InferenceSession.ExecutionProviderConfig;
  }

  /** Where an older onnxruntime's re-stamped copy of the model is kept (ort-binding.ts). */
  private restampCache(model: ModelDir): RestampCache | undefined {
    const dir = this.options.tensorrt?.engineCacheDir;
    return dir ? { dir, onnxSha256: model.manifest.files.onnxSha256 } : undefined;
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
      slot = { inputTensor: new ort.Tensor('uint8', uint8Input, dims), uint8Input };
    } else {
      slot = { inputTensor: new ort.Tensor('float32', input, dims), uint8Input: undefined };
    }
    // A caller normally alternates between one or two buffers; bound the map against misuse.
    if (this.slots.size >= 8) this.slots.clear();
    this.slots.set(input, slot);
    return slot;
  }

  async run(input: Float32Array): Promise<OutputArray> {
    const session = this.rawSession;
    const slot = this.inputTensorFor(input);
    if (slot.uint8Input) {
      const bytes = slot.uint8Input;
      // +0.5 then the Uint8Array's truncation rounds the (non-negative) interpolated pixel.
      for (let i = 0; i < input.length; i++) bytes[i] = input[i]! + 0.5;
    }
    // No preallocated output: onnxruntime-node 1.30 copies every output into a new ArrayBuffer
    // even when the caller passes one, so a preallocated tensor would only add a throwaway write.
    this.lastFeeds = { [this.manifest.input.name]: slot.inputTensor };
    const started = performance.now();
    const results = await session.run(this.lastFeeds);
    this.lastRunMs = performance.now() - started;
    return results[this.manifest.output.name]!.data as OutputArray;
  }

  async timeRuns(runs: number): Promise<number[]> {
    const feeds = this.lastFeeds;
    if (!feeds) throw new Error('OnnxEngine: timeRuns() before any run()');
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await this.rawSession.run(feeds);
      times.push(performance.now() - started);
    }
    return times;
  }

  async stop(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.slots.clear();
    this.lastFeeds = undefined;
    this.forgetStart();
    if (session) await releaseSession(session);
  }
}
