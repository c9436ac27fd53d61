// Conv2DBackpropInput at stride s > 1 on the wasm backend (the forward pass of conv2dTranspose, the
// FCN upsampling; ResNet's strided input gradients), in place of tfjs 4.22's direct loop: split
// into s x s sub-pixel phases, each a small stride-1 convolution on XNNPACK's Conv2D.

import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { type Geometry, validRange } from './conv-geometry.js';
import { heapFloats, type RunKernel, type WasmBackendLike } from './wasm-backend-access.js';

/**
 * dx[n, a·s + r − top, ·, c] = Σ_j dy[n, a − (Q − 1) + j, ·, k] · w[r + s·(Q − 1 − j), ·, c, k]: the
 * rows of dx in phase r (of s) are a stride-1 convolution of dy with the taps r, r + s, r + 2s, ...
 * of the filter, reversed, Q = ⌈(KH − r)/s⌉ of them (the same across the width). Each phase's output
 * goes to every s-th pixel of dx.
 */
export function stridedConv2DBackpropInput(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  dy: TensorInfo,
  filter: TensorInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const dx = wasm.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  try {
    // Phases without taps (r ≥ the filter size) leave these zeros.
    wasm.typedArrayFromHeap(dx).fill(0);
    for (let rh = 0; rh < Math.min(strideHeight, filterHeight); rh++) {
      const tapsHigh = Math.ceil((filterHeight - rh) / strideHeight);
      const [rowStart, rowEnd] = validRange(rh, strideHeight, top, inHeight, Number.MAX_SAFE_INTEGER);
      for (let rw = 0; rw < Math.min(strideWidth, filterWidth); rw++) {
        const tapsWide = Math.ceil((filterWidth - rw) / strideWidth);
        const [colStart, colEnd] = validRange(rw, strideWidth, left, inWidth, Number.MAX_SAFE_INTEGER);
        if (rowEnd <= rowStart || colEnd <= colStart) continue;
        const phaseFilter = wasm.makeOutput([tapsHigh, tapsWide, outChannels, inChannels], 'float32');
        let phase: TensorInfo | undefined;
        try {
          {
            const { heap, starts } = heapFloats(wasm, [filter, phaseFilter]);
            const [source, target] = starts as [number, number];
            let at = target;
            for (let j = 0; j < tapsHigh; j++)
              for (let i = 0; i < tapsWide; i++) {
                const kh = rh + strideHeight * (tapsHigh - 1 - j);
                const kw = rw + strideWidth * (tapsWide - 1 - i);
                const block = source + (kh * filterWidth + kw) * inChannels * outChannels;
                for (let k = 0; k < outChannels; k++)
                  for (let c = 0; c < inChannels; c++) heap[at++] = heap[block + c * outChannels + k]!;
              }
          }
          phase = run('Conv2D', { x: dy, filter: phaseFilter }, {
            strides: [1, 1],
            pad: [
              [0, 0],
              [tapsHigh - 1, Math.max(0, rowEnd - outHeight)],
              [tapsWide - 1, Math.max(0, colEnd - outWidth)],
              [0, 0],
            ],
            dataFormat: 'NHWC',
            dilations: [1, 1],
          } as unknown as NamedAttrMap);
          const [, phaseHeight, phaseWidth] = phase.shape as [number, number, number, number];
          const { heap, starts } = heapFloats(wasm, [phase, dx]);
          const [phaseStart, dxStart] = starts as [number, number];
          for (let n = 0; n < batchSize; n++)
            for (let a = rowStart; a < rowEnd; a++) {
              const dxRow = (n * inHeight + a * strideHeight + rh - top) * inWidth;
              const phaseRow = (n * phaseHeight + a) * phaseWidth;
              for (let b = colStart; b < colEnd; b++) {
                const from = phaseStart + (phaseRow + b) * inChannels;
                const to = dxStart + (dxRow + b * strideWidth + rw - left) * inChannels;
                for (let c = 0; c < inChannels; c++) heap[to + c] = heap[from + c]!;
              }
            }
        } finally {
          wasm.disposeData(phaseFilter.dataId);
          if (phase) wasm.disposeData(phase.dataId);
        }
      }
    }
    return dx;
  } catch (error) {
    wasm.disposeData(dx.dataId);
    throw error;
  }
}

/**
 * The same phases as ONE convolution: every phase's reversed taps side by side as output channels
 * of a filter [⌈KH/s⌉, ⌈KW/s⌉, K, phases·C] (phases with fewer taps get zero taps in front), then
 * each phase's channels go to its pixels of dx. For many phases (the 16x16 stride-8 upsampling has
 * 64): one XNNPACK operator instead of 64.
 */
export function stridedConv2DBackpropInputAtOnce(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  dy: TensorInfo,
  filter: TensorInfo,
): TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const tapsHigh = Math.ceil(filterHeight / strideHeight);
  const tapsWide = Math.ceil(filterWidth / strideWidth);
  const phases: Array<{ rh: number; rw: number; rows: [number, number]; cols: [number, number] }> = [];
  for (let rh = 0; rh < Math.min(strideHeight, filterHeight); rh++)
    for (let rw = 0; rw < Math.min(strideWidth, filterWidth); rw++) {
      const rows = validRange(rh, strideHeight, top, inHeight, Number.MAX_SAFE_INTEGER);
      const cols = validRange(rw, strideWidth, left, inWidth, Number.MAX_SAFE_INTEGER);
      if (rows[1] > rows[0] && cols[1] > cols[0]) phases.push({ rh, rw, rows, cols });
    }
  const width = phases.length * inChannels;
  const dx = wasm.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  const phaseFilter = wasm.makeOutput([tapsHigh, tapsWide, outChannels, width], 'float32');
  let combined: TensorInfo | undefined;
  try {
    wasm.typedArrayFromHeap(dx).fill(0);
    {
      const { heap, starts } = heapFloats(wasm, [filter, phaseFilter]);
      const [source, target] = starts as [number, number];
      heap.fill(0, target, target + tapsHigh * tapsWide * outChannels * width);
      phases.forEach(({ rh, rw }, p) => {
        const high = Math.ceil((filterHeight - rh) / strideHeight);
        const wide = Math.ceil((filterWidth - rw) / strideWidth);
        for (let j = 0; j < high; j++)
          for (let i = 0; i < wide; i++) {
            const kh = rh + strideHeight * (high - 1 - j);
            const kw = rw + strideWidth * (wide - 1 - i);
            const block = source + (kh * filterWidth + kw) * inChannels * outChannels;
            const tap =
              target + ((tapsHigh - high + j) * tapsWide + (tapsWide - wide + i)) * outChannels * width;
            for (let k = 0; k < outChannels; k++)
              for (let c = 0; c < inChannels; c++)
                heap[tap + k * width + p * inChannels + c] = heap[block + c * outChannels + k]!;
          }
      });
    }
    const rowEnd = Math.max(...phases.map((phase) => phase.rows[1]));
    const colEnd = Math.max(...phases.map((phase) => phase.cols[1]));
    combined = run('Conv2D', { x: dy, filter: phaseFilter }, {
      strides: [1, 1],
      pad: [
        [0, 0],
        [tapsHigh - 1, Math.max(0, rowEnd - outHeight)],
        [tapsWide - 1, Math.max(0, colEnd - outWidth)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    } as unknown as NamedAttrMap);
    const [, combinedHeight, combinedWidth] = combined.shape as [number, number, number, number];
    const { heap, starts } = heapFloats(wasm, [combined, dx]);
    const [combinedStart, dxStart] = starts as [number, number];
    phases.forEach(({ rh, rw, rows, cols }, p) => {
      for (let n = 0; n < batchSize; n++)
        for (let a = rows[0]; a < rows[1]; a++) {
          const dxRow = (n * inHeight + a * strideHeight + rh - top) * inWidth;
          const combinedRow = (n * combinedHeight + a) * combinedWidth;
          for (let b = cols[0]; b < cols[1]; b++) {
            const from = combinedStart + (combinedRow + b) * width + p * inChannels;
            const to = dxStart + (dxRow + b * strideWidth + rw - left) * inChannels;
            for (let c = 0; c < inChannels; c++) heap[to + c] = heap[from + c]!;
          }
        }
    });
    return dx;
  } catch (error) {
    wasm.disposeData(dx.dataId);
    throw error;
  } finally {
    wasm.disposeData(phaseFilter.dataId);
    if (combined) wasm.disposeData(combined.dataId);
  }
}
