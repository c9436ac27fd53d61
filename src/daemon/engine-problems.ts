// Degradation of the running model, as status, health and /metrics report it: the model running on
// its tfjs copy because onnxruntime could not load it, or on a slower execution provider than the
// configured one that this onnxruntime build has (one that was tried and failed; a provider the
// build does not have, e.g. tensorrt on the CPU-only npm build or one it lists but does not bundle
// (its shared library is not installed), is not news every start).

import type { Config } from '../config/schema.js';
import { providerFailureNote, providerUnavailableReason } from '../engine/ort-binding.js';
import type { EngineInfo, ExecutionProviderName } from '../engine/types.js';

export function engineProblems(config: Config, info: EngineInfo): string[] {
  if (info.runtime === 'tfjs') {
    if (config.engine.runtime === 'tfjs') return [];
    const why = info.fallbackReasons.join('; ') || 'onnxruntime could not load the model';
    return [`model runs on its tfjs copy (slower): ${why}`];
  }
  const chain = config.engine.execution_providers as readonly ExecutionProviderName[];
  const used = chain.indexOf(info.provider as ExecutionProviderName);
  // Every provider listed before the one in use that this build has was tried and failed.
  const failed = chain
    .slice(0, used < 0 ? chain.length : used)
    .filter(
      (provider) =>
        provider !== 'cpu' &&
        providerUnavailableReason(provider) === undefined &&
        providerFailureNote(provider) === '',
    );
  if (failed.length === 0) return [];
  const reasons = info.fallbackReasons.filter((reason) => failed.some((p) => reason.startsWith(`${p}:`)));
  return [
    `execution provider ${info.provider} instead of ${failed[0]}${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
  ];
}
