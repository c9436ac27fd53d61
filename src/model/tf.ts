// One place that picks the TensorFlow.js backend: tfjs-node-gpu or tfjs-node (native libtensorflow)
// when installed, otherwise WebAssembly, otherwise the pure-JS cpu backend. It says which one runs and why.

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { errorMessage, UserError } from '../system/errors.js';

export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';
export type TfBackendChoice = TfBackendName | 'auto';

export interface TfBackendInfo {
  backend: TfBackendName;
  /** For 'tensorflow': the package that provides it (both register the same backend name). */
  nativePackage?: TfjsNodePackage;
  /** Why the backends before it in the chain were not used, one entry each. */
  fallbackReasons: string[];
}

/** Hooks run once after a backend is set, e.g. to register kernels a backend lacks. */
const backendHooks: Array<(backend: TfBackendName) => void> = [];

export function onTfBackendReady(hook: (backend: TfBackendName) => void): void {
  backendHooks.push(hook);
}

let active: TfBackendInfo | undefined;

/** The native builds, GPU first: a workstation with CUDA installs -gpu, a board or a CPU box the other. */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type TfjsNodePackage = (typeof TFJS_NODE_PACKAGES)[number];

/** The first native package that loads, or why none did (one reason per package). */
async function tryTfjsNode(): Promise<{ loaded?: TfjsNodePackage; problems: string[] }> {
  const problems: string[] = [];
  for (const specifier of TFJS_NODE_PACKAGES) {
    try {
      // A variable specifier keeps TypeScript from requiring the optional package at build time.
      await import(specifier);
      return { loaded: specifier, problems };
    } catch (error) {
      const reason = errorMessage(error).split('\n')[0];
      problems.push(
        `${specifier.slice('@tensorflow/'.length)} is not installed or failed to load (${reason})`,
      );
    }
  }
  return { problems };
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
  let nativePackage: TfjsNodePackage | undefined;
  for (const backend of chain) {
    if (backend === 'tensorflow') {
      const native = await tryTfjsNode();
      if (!native.loaded) {
        fallbackReasons.push(...native.problems);
        continue;
      }
      nativePackage = native.loaded;
    }
    try {
      const ok = await tf.setBackend(backend);
      if (!ok) throw new Error(`tf.setBackend('${backend}') returned false`);
      await tf.ready();
    } catch (error) {
      fallbackReasons.push(`${backend}: ${errorMessage(error)}`);
      continue;
    }
    for (const hook of backendHooks) hook(backend);
    active =
      backend === 'tensorflow' ? { backend, nativePackage, fallbackReasons } : { backend, fallbackReasons };
    return active;
  }
  throw new UserError(
    `no TensorFlow.js backend could start (tried ${chain.join(', ')}): ${fallbackReasons.join('; ')}`,
    {
      hint: 'install @tensorflow/tfjs-node (or -gpu with CUDA), or use --tf-backend wasm / cpu',
    },
  );
}

export function describeTfBackend(info: TfBackendInfo): string {
  const why = info.fallbackReasons.length > 0 ? ` (fell back: ${info.fallbackReasons.join('; ')})` : '';
  const which = info.nativePackage
    ? ` (${info.nativePackage}${info.nativePackage.endsWith('-gpu') ? ', CUDA' : ', CPU'})`
    : '';
  return `TensorFlow.js backend: ${info.backend}${which}${why}`;
}

export { tf };
