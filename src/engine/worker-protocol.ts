// Messages between ThreadedOnnxEngine and its worker, and how user errors survive the thread hop
// (a FileError stays a FileError naming its path, so callers and the CLI treat it the same).

import type { MessagePort } from 'node:worker_threads';
import type { ModelManifest } from '../model/manifest.js';
import { ConfigError, FileError, UserError } from '../system/errors.js';
import type { EngineInfo, EngineOptions, RawOutput } from './types.js';

export interface WorkerData {
  modelDir: string;
  options: Omit<EngineOptions, 'logger'>;
}

export type WorkerRequest =
  | { type: 'run'; id: number; slot: number; input?: SharedArrayBuffer }
  | { type: 'timeRuns'; id: number; runs: number }
  /** Opens a frame stream on `port` (engine/frame-stream). */
  | { type: 'openStream'; port: MessagePort }
  | { type: 'stop' };

/**
 * A frame stream's shared memory (engine/frame-stream): `slots` frame buffers, `meta` four numbers
 * per slot (seq, captureTimeMs, width, height) and `control` [mailbox, idle]. The mailbox holds the
 * index of the newest frame not yet taken (-1: none); idle is 1 while the worker waits for a kick.
 */
export interface FramePool {
  generation: number;
  control: SharedArrayBuffer;
  meta: SharedArrayBuffer;
  slots: SharedArrayBuffer[];
}

export const POOL_MAILBOX = 0;
export const POOL_IDLE = 1;
export const POOL_EMPTY = -1;
export const POOL_META_FIELDS = 4;

/** A FramePool seen through typed arrays: each thread makes its own views of the same memory. */
export interface PoolViews {
  generation: number;
  control: Int32Array;
  meta: Float64Array;
  slots: Uint8Array[];
}

export function poolViews(shared: FramePool): PoolViews {
  return {
    generation: shared.generation,
    control: new Int32Array(shared.control),
    meta: new Float64Array(shared.meta),
    slots: shared.slots.map((buffer) => new Uint8Array(buffer)),
  };
}

/** Empties the mailbox (either thread): the slot that was in it, or undefined when it was empty. */
export function takeMailbox(control: Int32Array): number | undefined {
  const slot = Atomics.exchange(control, POOL_MAILBOX, POOL_EMPTY);
  return slot === POOL_EMPTY ? undefined : slot;
}

/** Which slot of which pool a frame is in, and what it is. */
export interface StreamFrame {
  generation: number;
  slot: number;
  seq: number;
  captureTimeMs: number;
  width: number;
  height: number;
}

/** Main → worker on a frame stream's port. */
export type StreamRequest =
  /** Frames are in this pool from now on (the first, or a larger one). */
  | ({ type: 'pool' } & FramePool)
  /** A frame is in the mailbox and the worker said it was idle. */
  | { type: 'kick' }
  /** Answer 'drained' once the frame in flight is out. */
  | { type: 'drain'; id: number };

/** Worker → main on a frame stream's port: each frame taken comes back as a result or a failure. */
export type StreamReply =
  | ({
      type: 'result';
      output: RawOutput;
      /** Date.now() when the worker took the frame. */
      takenAtMs: number;
      preprocessMs: number;
      inferenceMs: number;
    } & StreamFrame)
  | ({ type: 'failed'; error: SerializedError } & StreamFrame)
  | { type: 'drained'; id: number };

export type WorkerReply =
  | { type: 'ready'; manifest: ModelManifest; info: EngineInfo }
  | { type: 'error'; error: SerializedError }
  /** `output` is transferred, not copied; `runMs` is session.run's time on the worker. */
  | { type: 'done'; id: number; output: RawOutput; runMs: number }
  | { type: 'timed'; id: number; times: number[] }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'stopped' };

export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  path?: string;
  key?: string;
  hint?: string | undefined;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), stack: undefined };
  const serialized: SerializedError = { name: error.name, message: error.message, stack: error.stack };
  if (error instanceof UserError) serialized.hint = error.hint;
  if (error instanceof FileError) serialized.path = error.path;
  if (error instanceof ConfigError) serialized.key = error.key;
  return serialized;
}

export function deserializeError(error: SerializedError): Error {
  const options = error.hint === undefined ? {} : { hint: error.hint };
  // The subclasses prefix their message with the path/key again: strip it before rebuilding.
  if (error.path !== undefined)
    return new FileError(error.path, error.message.slice(error.path.length + 2), options);
  if (error.key !== undefined)
    return new ConfigError(
      error.key,
      error.key ? error.message.slice(error.key.length + 2) : error.message,
      options,
    );
  if (error.name === 'UserError') return new UserError(error.message, options);
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  if (error.stack) rebuilt.stack = error.stack;
  return rebuilt;
}
