// Picks the engine for a model directory: onnxruntime, or the tfjs copy of the weights when asked
// for or (runtime 'auto') when onnxruntime cannot load; the reason for that fallback is kept.

import { errorMessage, FileError, UserError } from '../system/errors.js';
import { silentLogger } from '../system/log.js';
import { loadModelDir } from './model-dir.js';
import { OnnxEngine } from './onnx-engine.js';
import { ThreadedOnnxEngine } from './threaded-engine.js';
import type { EngineOptions, InferenceEngine } from './types.js';

export type { EngineOptions, ExecutionProviderName, InferenceEngine, TensorRtOptions } from './types.js';

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = { runtime: 'auto', executionProviders: ['cpu'] };

/** Parses `tensorrt,cuda,cpu` (CLI / config) into a provider chain. */
export function parseProviders(text: string): EngineOptions['executionProviders'] {
  const providers = text
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part.length > 0);
  for (const provider of providers) {
    if (provider !== 'tensorrt' && provider !== 'cuda' && provider !== 'cpu')
      throw new UserError(`unknown execution provider "${provider}"`, {
        hint: 'use a list of tensorrt, cuda, cpu',
      });
  }
  return providers as EngineOptions['executionProviders'];
}

/**
 * Creates and starts an engine for `modelDir` (manifest and sha256 verified, warm-up run done).
 * With runtime 'auto' an onnxruntime failure to load falls back to the tfjs copy when the model
 * directory has one, and the onnxruntime error is reported in info.fallbackReasons.
 */
async function loadTfjsEngine(): Promise<typeof import('./tfjs-engine.js')> {
  return await import('./tfjs-engine.js');
}

// The tfjs engine is imported on demand: an onnxruntime-only process never loads TensorFlow.js.
export async function createEngine(modelDir: string, options: EngineOptions): Promise<InferenceEngine> {
  const logger = options.logger ?? silentLogger;
  const model = await loadModelDir(modelDir, { verifySha256: options.skipSha256 !== true });
  if (options.runtime === 'tfjs') {
    const { TfjsEngine } = await loadTfjsEngine();
    const engine = new TfjsEngine(modelDir, options, model);
    await engine.start();
    return engine;
  }
  const onnx =
    options.inferenceThread === 'worker'
      ? new ThreadedOnnxEngine(modelDir, { ...options, skipSha256: true })
      : new OnnxEngine(modelDir, options, model);
  try {
    await onnx.start();
    return onnx;
  } catch (error) {
    await onnx.stop();
    // A manifest that contradicts the graph is the user's to fix, not a reason to switch runtimes.
    const isContractError = error instanceof FileError && error.path === model.manifestPath;
    if (options.runtime !== 'auto' || !model.tfjsDir || isContractError) throw error;
    const reason = `onnxruntime: ${errorMessage(error)}`;
    logger.warn({ reason }, 'onnxruntime cannot run the model, falling back to its tfjs copy');
    const { TfjsEngine } = await loadTfjsEngine();
    const engine = new TfjsEngine(modelDir, options, model, [reason]);
    await engine.start();
    return engine;
  }
}
