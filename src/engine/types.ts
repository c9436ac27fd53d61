// The InferenceEngine seam: one interface over onnxruntime and the tfjs fallback, used by the
// offline commands (infer, eval, bench) and by the daemon's pipeline.

import type { RgbFrame } from '../capture/types.js';
import type { Int8KernelFamily, ModelManifest } from '../model/manifest.js';
import type { Logger } from '../system/log.js';

/** A model's raw output as returned by run(), in the manifest's output layout. */
export type RawOutput = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** One frame's result from a frame stream. */
export interface StreamedResult {
  seq: number;
  /** The frame as sent; its pixels are valid until release(frame). */
  frame: RgbFrame;
  output: RawOutput;
  /** Date.now() when the worker took the frame. */
  takenAtMs: number;
  preprocessMs: number;
  inferenceMs: number;
}

export interface FrameStreamHandlers {
  result(result: StreamedResult): void;
  failed(error: Error, frame: RgbFrame): void;
  /** Frames replaced by newer ones before the worker took them, or with no free slot. */
  dropped(count: number): void;
  /** The engine behind the stream ended (its worker died): no more results will come. */
  ended?(error: Error): void;
}

/** Raw frames into an engine's own thread, newest first (engine/frame-stream implements it). */
export interface FrameStream {
  /** Hands a frame over; a frame still waiting is replaced (and counted as dropped). */
  offer(frame: RgbFrame): void;
  /** Returns a result's frame buffer to the pool. */
  release(frame: RgbFrame): void;
  /** Resolves when every frame offered so far has a result or has failed. */
  drain(): Promise<void>;
  close(): void;
}

export interface EngineInfo {
  /** Which runtime runs the model. */
  runtime: 'onnxruntime' | 'tfjs';
  /** The execution provider / backend actually in use, e.g. "cpu", "cuda", "tensorrt", "wasm". */
  provider: string;
  /** One line per provider that was tried and not used, with the reason. */
  fallbackReasons: string[];
  /** Dims of the model input as fed (batch 1), in the manifest's input layout. */
  inputDims: number[];
  /** Dims of the raw output returned by run(), learned from the warm-up run. */
  outputDims: number[];
  /**
   * The optimised-model cache at this start: 'hit' (loaded the cached optimised graph), 'built'
   * (optimised the model and stored the result), 'off' (no cache for this provider or none asked).
   */
  modelCache?: 'hit' | 'built' | 'off';
  /** The JS thread onnxruntime's run() executes on (onnxruntime engines). */
  thread?: 'main' | 'worker';
  /** int8 models on onnxruntime's CPU provider: the int8 kernel family they run on (int8-kernels.ts). */
  int8Kernels?: Int8KernelFamily;
}

export type ExecutionProviderName = 'tensorrt' | 'cuda' | 'cpu';

/** TensorRT execution-provider settings (onnxruntime names: trt_fp16_enable, trt_engine_cache_*, ...). */
export interface TensorRtOptions {
  fp16?: boolean;
  /** Engines are cached below this folder, one subfolder per model sha256 + onnxruntime + TensorRT version. */
  engineCacheDir?: string;
  timingCache?: boolean;
  workspaceSizeBytes?: number;
}

export interface EngineOptions {
  /** 'auto': onnxruntime, and the tfjs copy when onnxruntime cannot load the model. */
  runtime: 'auto' | 'onnxruntime' | 'tfjs';
  /** Tried in order; cpu is always the last resort for onnxruntime. */
  executionProviders: ExecutionProviderName[];
  /** onnxruntime intra-op threads; 0 or absent: one per core. */
  intraOpThreads?: number;
  /**
   * Whether onnxruntime's pool threads spin while waiting for work (its default, true): lower
   * latency per operator, but they burn CPU between operators and between frames.
   */
  allowSpinning?: boolean;
  /**
   * Folder for optimised models (CPU provider): the first start stores the graph onnxruntime
   * optimised, later starts load it and skip the optimisation (faster, far less peak memory).
   */
  optimizedModelCacheDir?: string;
  /**
   * Where onnxruntime runs. onnxruntime-node's run() blocks the thread that calls it. 'main'
   * (default) runs in-process. 'worker' keeps the event loop free during inference (timers, MQTT,
   * capture pipes) and lets the engine's thread take the newest frame itself; on a busy 2-core
   * board it also needs one more thread scheduled per frame. 'auto' starts in a worker and moves to
   * the main thread when a run takes less than AUTO_WORKER_MIN_MS: blocking the event loop that
   * briefly is harmless and a fast model then keeps its throughput under load.
   */
  inferenceThread?: 'auto' | 'worker' | 'main';
  /** For 'auto': the run time (ms) from which a model stays in the worker; default AUTO_WORKER_MIN_MS. */
  autoWorkerMinMs?: number;
  tensorrt?: TensorRtOptions;
  /** pino-compatible logger; silent when absent. */
  logger?: Logger;
  /** Skip the sha256 check of model.onnx (only for callers that just verified it). */
  skipSha256?: boolean;
  /**
   * Internal: providers that already failed for this model in this process (inferenceThread 'auto'
   * moving a started engine in-process), reported in info.fallbackReasons without trying them again.
   */
  knownFallbackReasons?: string[];
}

export interface InferenceEngine {
  readonly manifest: ModelManifest;
  readonly modelDir: string;
  /** Valid after start(). */
  readonly info: EngineInfo;
  /** Loads the model, picks the provider, runs a warm-up inference. Idempotent. */
  start(): Promise<void>;
  /**
   * Runs the model on an input already in the manifest's layout and normalisation
   * (see segment/preprocess). Returns the raw output in the manifest's output layout.
   * The returned array may be reused by the next call: copy it to keep it.
   */
  run(input: Float32Array): Promise<Float32Array | Int32Array | BigInt64Array | Uint8Array>;
  /**
   * Optional: a model-input buffer the engine can read without copying (shared with its worker
   * thread). Callers that preprocess into it save a copy per frame.
   */
  createInputBuffer?(): Float32Array;
  /**
   * Optional: wall time of the last completed run() inside the engine, without any thread
   * hand-off (a worker-thread engine measures it on the worker).
   */
  readonly lastRunMs?: number;
  /**
   * Optional: session.run on the last input in a plain loop, `runs` times, nothing else; each run's
   * wall time. The bare reference `edgeseg bench` measures the pipeline against, on the same session.
   */
  timeRuns?(runs: number): Promise<number[]>;
  /**
   * Optional (worker-thread engines): a stream of raw frames that the engine's thread preprocesses
   * and runs itself, always the newest, without a hop through the calling thread between runs.
   */
  openFrameStream?(handlers: FrameStreamHandlers): FrameStream;
  /**
   * Optional (engines whose session lives elsewhere, e.g. a worker thread): `listener` is called
   * once if the engine dies by itself (not through stop()); runs and streams have failed by then.
   */
  onLost?(listener: (error: Error) => void): void;
  /** Releases the session. Idempotent. */
  stop(): Promise<void>;
}
