// The strided case of wasm-conv-filter-gradient.ts: the input split once into stride x stride
// phase planes on a padded grid, so that every tap's window is one contiguous copy.

import type { TensorInfo } from '@tensorflow/tfjs-core';
import { type Geometry, validRange } from './conv-geometry.js';
import { disposeAll, heapFloats, type RunKernel, type WasmBackendLike } from './wasm-backend-access.js';

/**
 * Taps are stacked into one matmul while their windows and their product stay under this many floats
 * (fewer, larger calls: the 16x16 stride-8 upsampling has 256 taps); a larger tap goes alone.
 */
export const STACKED_FLOATS = 1 << 21;

/**
 * The padded grid of the fast path: every output position (n, oh, ow) of an [N, rows, cols] grid,
 * the outputs inside [outHeight, outWidth], the rest multiplied by zeros of dY. On it, every tap's
 * window of every channel is ONE contiguous run of a "phase plane" (below), so a tap's C rows are
 * one copy. Worth it while the grid is not much larger than the output (no fc6 on a 3x9 map).
 */
interface PaddedGrid {
  rows: number;
  cols: number;
  /** Phases in each direction: stride s splits the input into s x s planes of every s-th pixel. */
  phaseRows: number;
  phaseCols: number;
}

const GRID_WASTE = 1.2;

/**
 * The grid for strided convolutions, whose windows the other path gathers one float at a time
 * (the 16x16 stride-8 upsampling: 9 ms instead of 17); measured slower than it at stride 1.
 */
export function paddedGrid(info: Geometry): PaddedGrid | undefined {
  const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth } = info;
  if (strideHeight === 1 && strideWidth === 1) return undefined;
  // With no more taps than phases (a strided 1x1) each gather is used once: nothing to share.
  if (filterHeight * filterWidth <= Math.min(strideHeight, filterHeight) * Math.min(strideWidth, filterWidth))
    return undefined;
  const rows = outHeight + Math.ceil(filterHeight / strideHeight) - 1;
  const cols = outWidth + Math.ceil(filterWidth / strideWidth) - 1;
  if (rows * cols > GRID_WASTE * outHeight * outWidth) return undefined;
  return {
    rows,
    cols,
    phaseRows: Math.min(strideHeight, filterHeight),
    phaseCols: Math.min(strideWidth, filterWidth),
  };
}

/**
 * Phase planes [phase][C][N][rows][cols] (+ a zero tail): plane (rh, rw) holds
 * x[n, a·sh + rh − top, b·sw + rw − left, c] at (a, b), zero outside the image. Tap (kh, kw) then
 * reads plane (kh mod sh, kw mod sw) at (oh + ⌊kh/sh⌋, ow + ⌊kw/sw⌋): for channel c, the run of
 * N·rows·cols floats from that shift on. The run wraps into the next row, image or channel only
 * at grid positions outside the output, where dY is zero.
 */
function fillPhasePlanes(
  heap: Float32Array,
  target: number,
  source: number,
  info: Geometry,
  grid: PaddedGrid,
): void {
  const { batchSize, inHeight, inWidth, inChannels, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const planeSize = batchSize * grid.rows * grid.cols;
  let plane = target;
  for (let rh = 0; rh < grid.phaseRows; rh++) {
    for (let rw = 0; rw < grid.phaseCols; rw++) {
      const [colStart, colEnd] = validRange(rw, strideWidth, left, inWidth, grid.cols);
      for (let c = 0; c < inChannels; c++, plane += planeSize) {
        for (let n = 0; n < batchSize; n++) {
          const image = source + (c * batchSize + n) * inHeight * inWidth;
          for (let a = 0; a < grid.rows; a++) {
            const row = a * strideHeight + rh - top;
            if (row < 0 || row >= inHeight) continue;
            const from = image + row * inWidth + rw - left;
            const to = plane + (n * grid.rows + a) * grid.cols;
            if (strideWidth === 1) heap.copyWithin(to + colStart, from + colStart, from + colEnd);
            else for (let b = colStart; b < colEnd; b++) heap[to + b] = heap[from + b * strideWidth]!;
          }
        }
      }
    }
  }
}

/** The weight gradient on the padded grid (see PaddedGrid); the zeroed `output` receives it. */
export function filterGradientOnGrid(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  grid: PaddedGrid,
  channelMajor: TensorInfo,
  dy: TensorInfo,
  output: TensorInfo,
): void {
  const { batchSize, inChannels, outChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth } = info;
  const gridSize = batchSize * grid.rows * grid.cols;
  const channelRun = inChannels * gridSize;
  const tail =
    (Math.ceil(filterHeight / strideHeight) - 1) * grid.cols + Math.ceil(filterWidth / strideWidth);
  const owned: TensorInfo[] = [];
  try {
    const planes = wasm.makeOutput([grid.phaseRows * grid.phaseCols * channelRun + tail], 'float32');
    owned.push(planes);
    const dyGrid = wasm.makeOutput([1, gridSize, outChannels], 'float32');
    owned.push(dyGrid);
    {
      const { heap, starts } = heapFloats(wasm, [channelMajor, planes, dy, dyGrid]);
      const [source, planesStart, dyStart, dyGridStart] = starts as [number, number, number, number];
      heap.fill(0, planesStart, planesStart + planes.shape[0]!);
      fillPhasePlanes(heap, planesStart, source, info, grid);
      heap.fill(0, dyGridStart, dyGridStart + gridSize * outChannels);
      const length = outWidth * outChannels;
      for (let n = 0; n < batchSize; n++)
        for (let oh = 0; oh < outHeight; oh++) {
          const from = dyStart + (n * outHeight + oh) * length;
          heap.copyWithin(dyGridStart + (n * grid.rows + oh) * grid.cols * outChannels, from, from + length);
        }
    }
    const taps = filterHeight * filterWidth;
    const sliceSize = inChannels * outChannels;
    const tapsPerMatmul = Math.max(1, Math.floor(STACKED_FLOATS / Math.max(channelRun, sliceSize)));
    for (let first = 0; first < taps; first += tapsPerMatmul) {
      const count = Math.min(tapsPerMatmul, taps - first);
      const windows = wasm.makeOutput([1, count * inChannels, gridSize], 'float32');
      let product: TensorInfo | undefined;
      try {
        {
          const { heap, starts } = heapFloats(wasm, [planes, windows]);
          const [planesStart, windowsStart] = starts as [number, number];
          for (let i = 0; i < count; i++) {
            const kh = Math.floor((first + i) / filterWidth);
            const kw = (first + i) % filterWidth;
            const phase = (kh % strideHeight) * grid.phaseCols + (kw % strideWidth);
            const from =
              planesStart +
              phase * channelRun +
              Math.floor(kh / strideHeight) * grid.cols +
              Math.floor(kw / strideWidth);
            heap.copyWithin(windowsStart + i * channelRun, from, from + channelRun);
          }
        }
        product = run('BatchMatMul', { a: windows, b: dyGrid }, { transposeA: false, transposeB: false });
        const { heap, starts } = heapFloats(wasm, [product, output]);
        heap.copyWithin(starts[1]! + first * sliceSize, starts[0]!, starts[0]! + count * sliceSize);
      } finally {
        disposeAll(wasm, windows, product);
      }
    }
  } finally {
    disposeAll(wasm, ...owned);
  }
}
