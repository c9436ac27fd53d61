// One place that picks the TensorFlow.js backend: tfjs-node (native libtensorflow) when it is
// installed, otherwise WebAssembly, otherwise the pure-JS cpu backend. It says which one runs and why.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { UserError } from '../system/errors.js';

export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';
export type TfBackendChoice = TfBackendName | 'auto';

export interface TfBackendInfo {
  backend: TfBackendName;
  /** Why the backends before it in the chain were not used, one entry each. */
  fallbackReasons: string[];
}

/** Hooks run once after a backend is set, e.g. to register kernels a backend lacks. */
const backendHooks: Array<(backend: TfBackendName) => void> = [];

export function onTfBackendReady(hook: (backend: TfBackendName) => void): void {
  backendHooks.push(hook);
}

let active: TfBackendInfo | undefined;

async function tryTfjsNode(): Promise<string | undefined> {
  try {
    // A variable specifier keeps TypeScript from requiring the optional package at build time.
    const specifier = '@tensorflow/tfjs-node';
    await import(specifier);
    return undefined;
  } catch (error) {
    return `tfjs-node is not installed or failed to load (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

/**
 * Initialises TensorFlow.js once per process. `auto` walks tensorflow → wasm → cpu; naming a backend
 * forces it and fails with a clear error if it cannot start. Set EDGESEG_TF_BACKEND to override `auto`.
 */
export async function initTf(choice: TfBackendChoice = 'auto'): Promise<TfBackendInfo> {
  const requested =
    choice === 'auto' ? ((process.env.EDGESEG_TF_BACKEND as TfBackendChoice | undefined) ?? 'auto') : choice;
  if (active && (requested === 'auto' || requested === active.backend)) return active;
  const chain: TfBackendName[] = requested === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [requested];
  const fallbackReasons: string[] = [];
  for (const backend of chain) {
    if (backend === 'tensorflow') {
      const problem = await tryTfjsNode();
      if (problem) {
        fallbackReasons.push(problem);
        continue;
      }
    }
    try {
      const ok = await tf.setBackend(backend);
      if (!ok) throw new Error(`tf.setBackend('${backend}') returned false`);
      await tf.ready();
    } catch (error) {
      fallbackReasons.push(`${backend}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    for (const hook of backendHooks) hook(backend);
    active = { backend, fallbackReasons };
    return active;
  }
  throw new UserError(
    `no TensorFlow.js backend could start (tried ${chain.join(', ')}): ${fallbackReasons.join('; ')}`,
    {
      hint: 'install @tensorflow/tfjs-node, or use --tf-backend wasm / cpu',
    },
  );
}

export function describeTfBackend(info: TfBackendInfo): string {
  const why = info.fallbackReasons.length > 0 ? ` (fell back: ${info.fallbackReasons.join('; ')})` : '';
  return `TensorFlow.js backend: ${info.backend}${why}`;
}

export { tf };
