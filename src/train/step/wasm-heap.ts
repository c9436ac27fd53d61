// The wasm backend's heap running out, seen as what it is. tfjs-backend-wasm 4.22 does not check
// malloc: when the 4 GiB heap cannot grow, malloc returns 0 (or, at the very top, a block past the
// heap's end) and the tensor is written over the heap's first bytes or out of bounds, which ends in
// "memory access out of bounds", a RangeError or `Aborted()` (an "internal error"). Here a failed
// allocation throws at once, before anything is overwritten.

import { tf } from '../../model/tf.js';

/** The part of the Emscripten module the guard needs (tfjs-backend-wasm's `backend.wasm`). */
interface WasmModule {
  _malloc: (bytes: number) => number;
  HEAPU8: Uint8Array;
  asm?: { malloc?: (bytes: number) => number };
}

const GUARDED = Symbol('edgeseg.wasmHeapGuard');

/** A tensor the wasm heap could not hold. */
export class WasmHeapExhausted extends Error {
  constructor(
    readonly requestedBytes: number,
    readonly heapBytes: number,
  ) {
    super(
      `the wasm heap (${(heapBytes / 2 ** 30).toFixed(2)} GiB) could not hold another ${(requestedBytes / 2 ** 20).toFixed(1)} MiB tensor`,
    );
    this.name = 'WasmHeapExhausted';
  }
}

function wasmModule(): WasmModule | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as { wasm?: WasmModule };
  return backend.wasm ?? undefined;
}

/** Makes every tensor allocation on the wasm backend throw WasmHeapExhausted instead of returning 0. Idempotent. */
export function guardWasmHeap(): void {
  const module = wasmModule() as (WasmModule & { [GUARDED]?: true }) | undefined;
  if (module === undefined || module[GUARDED]) return;
  // Emscripten's Module._malloc is a thunk that replaces itself with the raw export on its first
  // call, which would drop a wrapper put over it: wrap the export itself.
  const malloc = module.asm?.malloc ?? module._malloc.bind(module);
  module._malloc = (bytes: number) => {
    const offset = malloc(bytes);
    // Near the 4 GiB limit malloc can also hand out a block that runs past the heap's end (its
    // address arithmetic wraps at 2^32): measured, 4 MiB at 4294863864 in a 4294901760-byte heap.
    const end = (offset >>> 0) + bytes;
    if (bytes > 0 && (offset === 0 || end > module.HEAPU8.length))
      throw new WasmHeapExhausted(bytes, module.HEAPU8.length);
    return offset;
  };
  module[GUARDED] = true;
}

/** Bytes the wasm heap has grown to (it never shrinks), or undefined off wasm. */
export function wasmHeapBytes(): number | undefined {
  return wasmModule()?.HEAPU8.length;
}

/**
 * True for the ways a full wasm heap shows: our guard's error, or, for allocations inside the
 * backend's C++ (XNNPACK's buffers), WebAssembly's own trap or Emscripten's abort.
 */
export function isWasmHeapFailure(error: unknown): boolean {
  if (error instanceof WasmHeapExhausted) return true;
  if (tf.getBackend() !== 'wasm') return false;
  // WebAssembly.RuntimeError (the project's TypeScript lib has no WebAssembly types).
  return (
    error instanceof Error &&
    error.name === 'RuntimeError' &&
    /memory access out of bounds|Aborted\(/.test(error.message)
  );
}
