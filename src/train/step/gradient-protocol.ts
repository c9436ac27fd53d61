// Messages and shared memory between the training thread and its gradient workers
// (gradient-workers.ts, gradient-worker.ts). Weights go one way and gradients the other through
// SharedArrayBuffers, every variable's values concatenated in variable order (trainableVariables).

import type { FcnConfig } from '../../model/architecture.js';
import type { ChannelOrder } from './step.js';

/** What a worker is started with: the model to build and the memory it shares with the main thread. */
export interface GradientWorkerData {
  /** 1-based, as messages name it ("gradient worker 1"). */
  worker: number;
  backend: 'wasm' | 'cpu';
  config: FcnConfig;
  /** model.params keys in variable order, with their shapes. */
  parameters: Array<{ name: string; shape: number[] }>;
  /** The current weights (Float32), written by the main thread only, between steps. */
  weights: SharedArrayBuffer;
  /** Int32 [weights version]: the worker reloads its weights when this changed since it last did. */
  control: SharedArrayBuffer;
  /** This worker's gradients of its last part (Float32), read by the main thread after 'done'. */
  gradients: SharedArrayBuffer;
  /** One part's RGB bytes and labels (at most maxImages images), written by the main thread. */
  images: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  classWeights: Float32Array;
  channelOrder: ChannelOrder;
  dropoutRate: number;
}

export const CONTROL_VERSION = 0;

/** Computes one part: `size` images of height x width from the shared image and label buffers. */
export interface PartRequest {
  type: 'part';
  id: number;
  size: number;
  height: number;
  width: number;
  denominator: number;
  dropoutSeed: number;
}

export interface WorkerFailure {
  name: string;
  message: string;
  /** The worker's wasm heap ran out (our allocation guard, or the backend's own trap). */
  outOfMemory: boolean;
}

export type GradientWorkerReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; loss: number }
  | { type: 'failed'; id?: number; failure: WorkerFailure };
