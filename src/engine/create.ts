// Picks the engine for a model directory: onnxruntime, or the tfjs copy of the weights when asked
// for or (runtime 'auto') when onnxruntime cannot load; the reason for that fallback is kept.

import { loadModelDir } from '../model/model-dir.js';
import { errorMessage, FileError, UserError } from '../system/errors.js';
import { type Logger, silentLogger } from '../system/log.js';
import { int8AccuracyCaveat } from './int8-kernels.js';
import { OnnxEngine } from './onnx-engine.js';
import { ThreadedOnnxEngine } from './threaded-engine.js';
import type { EngineOptions, InferenceEngine } from './types.js';

export type { EngineOptions, ExecutionProviderName, InferenceEngine, TensorRtOptions } from './types.js';

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = { runtime: 'auto', executionProviders: ['cpu'] };

/**
 * inferenceThread 'auto' keeps a model in the worker thread when one run takes at least this long
 * (the frame interval of a 25 frames/s camera): below it, blocking the event loop is harmless and
 * the in-process engine keeps its throughput on a busy board (docs/inference.md, measured).
 */
export const AUTO_WORKER_MIN_MS = 40;

/** Times the started worker engine and moves the model in-process when it is fast. */
async function chooseThread(
  worker: ThreadedOnnxEngine,
  model: Awaited<ReturnType<typeof loadModelDir>>,
  options: EngineOptions,
): Promise<InferenceEngine> {
  const logger = options.logger ?? silentLogger;
  const input = new Float32Array(worker.info.inputDims.reduce((a, b) => a * b, 1));
  await worker.run(input);
  const times = (await worker.timeRuns(3)).sort((a, b) => a - b);
  const runMs = times[1]!;
  if (runMs >= (options.autoWorkerMinMs ?? AUTO_WORKER_MIN_MS)) {
    logger.info({ runMs: Math.round(runMs) }, 'inference thread: worker (the model is slow)');
    return worker;
  }
  const { provider, fallbackReasons } = worker.info;
  await worker.stop();
  // Straight to the provider that ran in the worker: the ones that failed there are not tried (nor
  // logged) again, which on a board also spares a second failing TensorRT build.
  const inProcess = new OnnxEngine(
    model.dir,
    {
      ...options,
      skipSha256: true,
      executionProviders: [provider as EngineOptions['executionProviders'][number]],
      knownFallbackReasons: fallbackReasons,
    },
    model,
  );
  await inProcess.start();
  logger.info({ runMs: Math.round(runMs * 10) / 10 }, 'inference thread: main (the model is fast)');
  return inProcess;
}

/** Models (sha256 + kernel family) already warned about: a daemon reloading a model warns once. */
const int8Warned = new Set<string>();

/** Warns once where an int8 model's recorded accuracy was not measured on this CPU's kernel family. */
function warnUnmeasuredInt8(engine: InferenceEngine, logger: Logger): void {
  const family = engine.info.int8Kernels;
  if (!family) return;
  const caveat = int8AccuracyCaveat(engine.manifest, family);
  const key = `${engine.manifest.files.onnxSha256}/${family}`;
  if (!caveat || int8Warned.has(key)) return;
  int8Warned.add(key);
  logger.warn(
    { int8Kernels: family, measuredOn: engine.manifest.quantization?.accuracy.int8Kernels },
    caveat,
  );
}

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
    options.inferenceThread === 'worker' || options.inferenceThread === 'auto'
      ? new ThreadedOnnxEngine(modelDir, { ...options, skipSha256: true })
      : new OnnxEngine(modelDir, options, model);
  try {
    await onnx.start();
    const engine =
      options.inferenceThread === 'auto'
        ? await chooseThread(onnx as ThreadedOnnxEngine, model, options)
        : onnx;
    warnUnmeasuredInt8(engine, logger);
    return engine;
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
