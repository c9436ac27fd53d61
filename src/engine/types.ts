// The InferenceEngine seam: one interface over onnxruntime and the tfjs fallback, used by the
// offline commands (infer, eval, bench) and by the daemon's pipeline.

import type { ModelManifest } from '../model/manifest.js';

/** An RGB frame as captured: H×W×3 bytes, row-major. */
export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
  /** Wall-clock time (ms since epoch) the frame was captured. */
  captureTimeMs: number;
}

export interface EngineInfo {
  /** Which runtime runs the model. */
  runtime: 'onnxruntime' | 'tfjs';
  /** The execution provider / backend actually in use, e.g. "cpu", "cuda", "tensorrt", "wasm". */
  provider: string;
  /** One line per provider that was tried and not used, with the reason. */
  fallbackReasons: string[];
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
   * (see engine/preprocess). Returns the raw output in the manifest's output layout.
   * The returned array may be reused by the next call: copy it to keep it.
   */
  run(input: Float32Array): Promise<Float32Array | Int32Array | BigInt64Array | Uint8Array>;
  /** Releases the session. Idempotent. */
  stop(): Promise<void>;
}
