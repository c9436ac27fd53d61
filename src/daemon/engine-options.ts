// The daemon's engine options from its config: the one place that maps `engine.*` and `state_dir`
// onto EngineOptions (where onnxruntime runs, threads, spinning, the model and TensorRT caches).

import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { EngineOptions } from '../engine/types.js';
import type { Logger } from '../system/log.js';

export function engineOptionsFromConfig(
  config: Pick<Config, 'engine' | 'state_dir'>,
  logger: Logger,
): EngineOptions {
  const { engine, state_dir } = config;
  return {
    runtime: engine.runtime,
    executionProviders: engine.execution_providers,
    inferenceThread: engine.inference_thread,
    ...(engine.intra_op_threads ? { intraOpThreads: engine.intra_op_threads } : {}),
    allowSpinning: engine.intra_op_spinning,
    ...(engine.model_cache ? { optimizedModelCacheDir: join(state_dir, 'model-cache') } : {}),
    tensorrt: { fp16: engine.tensorrt_fp16, engineCacheDir: join(state_dir, 'engine-cache') },
    logger,
  };
}
