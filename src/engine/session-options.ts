// onnxruntime session options from the engine options: threads, spinning, optimisation level.

import type ort from 'onnxruntime-node';
import type { EngineOptions } from './types.js';

/**
 * Session options for `executionProviders`. Spinning is set through onnxruntime's session config
 * entries (the binding passes `extra` through as flattened key/value strings).
 */
export function sessionOptions(
  options: EngineOptions,
  executionProviders: ort.InferenceSession.ExecutionProviderConfig[],
): ort.InferenceSession.SessionOptions {
  const spinning = options.allowSpinning === undefined ? undefined : options.allowSpinning ? '1' : '0';
  return {
    executionProviders,
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.intraOpThreads ?? 0,
    logSeverityLevel: 3,
    ...(spinning !== undefined
      ? {
          extra: {
            'session.intra_op.allow_spinning': spinning,
            'session.inter_op.allow_spinning': spinning,
          },
        }
      : {}),
  };
}
