// Convolutions whose filter is large for their map, on the wasm backend: fc6's 7x7 'same' over the
// 3x9 map of a 96x288 image spends 65 % of XNNPACK's multiply-adds on zero padding (and its
// input gradient as many). Here each tap multiplies only the rows of its own rectangle of
// in-image positions, one matmul per tap, and adds the product into the output.

import type { TensorInfo } from '@tensorflow/tfjs-core';
import { type Geometry, imageShare, type TapRectangle, tapRectangles } from './conv-geometry.js';
import {
  disposeAll,
  heapFloats,
  type RunKernel,
  type WasmBackendLike,
  zeroedOutput,
} from './wasm-backend-access.js';

/** Below this share of multiply-adds on the image, the per-tap matmuls win (measured on fc6). */
const SMALL_MAP_SHARE = 0.6;

/**
 * From this many weights on (full-width fc6: 103 M), a spatial filter goes per tap whatever its
 * map: XNNPACK's packed copy of it would take as much of the 4 GiB heap as the filter itself.
 */
const HUGE_FILTER = 1 << 26;

export function isSmallMap(info: Geometry): boolean {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return false;
  const { filterHeight, filterWidth, inChannels, outChannels } = info;
  const taps = filterHeight * filterWidth;
  if (taps > 1 && taps * inChannels * outChannels >= HUGE_FILTER) return true;
  return imageShare(info) < SMALL_MAP_SHARE;
}

/**
 * For every (n, oh, ow) of the tap's rectangle, in order: `visit(outputPixel, inputPixel)`, the
 * pixel indices (n·H + h)·W + w of the output grid and of the image pixel the tap reads there.
 */
function forEachRectanglePixel(
  info: Geometry,
  tap: TapRectangle,
  visit: (outputPixel: number, inputPixel: number) => void,
): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  for (let n = 0; n < batchSize; n++)
    for (let oh = tap.rowStart; oh < tap.rowEnd; oh++) {
      const inRow = (n * inHeight + oh * strideHeight + tap.kh - top) * inWidth + tap.kw - left;
      const outRow = (n * outHeight + oh) * outWidth;
      for (let ow = tap.colStart; ow < tap.colEnd; ow++) visit(outRow + ow, inRow + ow * strideWidth);
    }
}

/**
 * Σ over taps of (rows of `source` the tap's rectangle meets) x (the tap's [from, to] block of
 * `blocks`), added into `target`. `forward` says which side of each rectangle pixel pair is the
 * source: the image (forward convolution) or the output grid (input gradient).
 */
function sumOfTapProducts(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  source: TensorInfo,
  blocks: TensorInfo,
  target: TensorInfo,
  forward: boolean,
): void {
  const fromChannels = forward ? info.inChannels : info.outChannels;
  const toChannels = forward ? info.outChannels : info.inChannels;
  const blockSize = fromChannels * toChannels;
  for (const tap of tapRectangles(info)) {
    const pixels = info.batchSize * (tap.rowEnd - tap.rowStart) * (tap.colEnd - tap.colStart);
    if (pixels === 0) continue;
    const rows = wasm.makeOutput([1, pixels, fromChannels], 'float32');
    const block = wasm.makeOutput([1, fromChannels, toChannels], 'float32');
    let product: TensorInfo | undefined;
    try {
      {
        const { heap, starts } = heapFloats(wasm, [source, rows, blocks, block]);
        const [sourceStart, rowsStart, blocksStart, blockStart] = starts as [number, number, number, number];
        let at = rowsStart;
        forEachRectanglePixel(info, tap, (outputPixel, inputPixel) => {
          const from = sourceStart + (forward ? inputPixel : outputPixel) * fromChannels;
          heap.copyWithin(at, from, from + fromChannels);
          at += fromChannels;
        });
        const from = blocksStart + tap.tap * blockSize;
        heap.copyWithin(blockStart, from, from + blockSize);
      }
      product = run('BatchMatMul', { a: rows, b: block }, { transposeA: false, transposeB: false });
      const { heap, starts } = heapFloats(wasm, [product, target]);
      const [productStart, targetStart] = starts as [number, number];
      let at = productStart;
      forEachRectanglePixel(info, tap, (outputPixel, inputPixel) => {
        const to = targetStart + (forward ? outputPixel : inputPixel) * toChannels;
        for (let k = 0; k < toChannels; k++) heap[to + k]! += heap[at + k]!;
        at += toChannels;
      });
    } finally {
      disposeAll(wasm, rows, block, product);
    }
  }
}

/** y[n, oh, ow, k] = Σ_tap x[n, oh·s + kh − top, ow·s + kw − left, :] · w[kh, kw, :, k], image taps only. */
export function smallMapConv2D(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  x: TensorInfo,
  filter: TensorInfo,
): TensorInfo {
  return zeroedOutput(wasm, info.outShape, (output) =>
    sumOfTapProducts(wasm, run, info, x, filter, output, true),
  );
}

/** dx[n, oh·s + kh − top, ow·s + kw − left, c] += Σ_k dy[n, oh, ow, k] · w[kh, kw, c, k], image taps only. */
export function smallMapConv2DBackpropInput(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  dy: TensorInfo,
  filter: TensorInfo,
): TensorInfo {
  // Each tap's block as [K, C]: the untransposed matmul is the fast one.
  const transposed = run('Transpose', { x: filter }, { perm: [0, 1, 3, 2] } as never);
  try {
    const shape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
    return zeroedOutput(wasm, shape, (dx) => sumOfTapProducts(wasm, run, info, dy, transposed, dx, false));
  } finally {
    disposeAll(wasm, transposed);
  }
}
