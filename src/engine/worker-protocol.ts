// Messages between ThreadedOnnxEngine and its worker, and how user errors survive the thread hop
// (a FileError stays a FileError naming its path, so callers and the CLI treat it the same).

import type { MessagePort } from 'node:worker_threads';
import type { ModelManifest } from '../model/manifest.js';
import { ConfigError, FileError, UserError } from '../system/errors.js';
import type { EngineInfo, EngineOptions } from './types.js';

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

/** A raw RGB frame moving between the threads; `pixels` is transferred, never copied. */
export interface StreamFrame {
  seq: number;
  captureTimeMs: number;
  width: number;
  height: number;
  pixels: ArrayBuffer;
}

/** Main → worker on a frame stream's port. */
export type StreamRequest =
  | ({ type: 'frame' } & StreamFrame)
  /** Finish the frame in flight, drop the waiting one, answer 'drained'. */
  | { type: 'drain'; id: number };

/** Worker → main on a frame stream's port; `dropped` returns the pixels of frames never taken. */
export type StreamReply =
  | ({
      type: 'result';
      output: RawOutput;
      /** Date.now() when the worker took the frame. */
      takenAtMs: number;
      preprocessMs: number;
      inferenceMs: number;
      dropped: ArrayBuffer[];
    } & StreamFrame)
  | ({ type: 'failed'; error: SerializedError; dropped: ArrayBuffer[] } & StreamFrame)
  | { type: 'drained'; id: number; dropped: ArrayBuffer[] };

export type RawOutput = Float32Array | Int32Array | BigInt64Array | Uint8Array;

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
