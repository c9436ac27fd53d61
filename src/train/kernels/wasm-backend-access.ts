// What edgeseg's training kernels use of tfjs-backend-wasm 4.22 from the inside: allocating tensors
// on its heap, reading them as typed arrays, and calling its other kernels without the engine.

import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../model/tf.js';

export interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

export type RunKernel = (name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo;

/** Calls another wasm kernel directly (inside a kernel the engine must not record or track tensors). */
export function kernelRunner(backend: WasmBackendLike): RunKernel {
  return (name, inputs, attrs) => {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
    return kernel.kernelFunc({ inputs, backend: backend as never, attrs }) as TensorInfo;
  };
}

/**
 * The whole heap as one Float32Array, and each tensor's start in it, so that a kernel can move
 * rows between tensors with copyWithin (no view object per row). Take it after the last
 * allocation: a growing heap detaches older views.
 */
export function heapFloats(
  backend: WasmBackendLike,
  tensors: TensorInfo[],
): { heap: Float32Array; starts: number[] } {
  const views = tensors.map((tensor) => backend.typedArrayFromHeap(tensor));
  const heap = new Float32Array(views[0]!.buffer);
  return { heap, starts: views.map((view) => view.byteOffset / 4) };
}

/** Frees a kernel's temporaries; `undefined` for one that was never made (a kernel failed before it). */
export function disposeAll(backend: WasmBackendLike, ...tensors: Array<TensorInfo | undefined>): void {
  for (const tensor of tensors) if (tensor) backend.disposeData(tensor.dataId);
}

/** A zero-filled float32 tensor that `fill` writes into; freed again if `fill` throws. */
export function zeroedOutput(
  backend: WasmBackendLike,
  shape: number[],
  fill: (output: TensorInfo) => void,
): TensorInfo {
  const output = backend.makeOutput(shape, 'float32');
  try {
    backend.typedArrayFromHeap(output).fill(0);
    fill(output);
    return output;
  } catch (error) {
    backend.disposeData(output.dataId);
    throw error;
  }
}
