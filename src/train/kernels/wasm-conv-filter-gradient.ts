// Conv2DBackpropFilter (the weight gradient of conv2d and conv2dTranspose) for the wasm backend of
// tfjs 4.22, which lacks it: im2col rows built on the heap and multiplied by XNNPACK's matmul.

import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../model/tf.js';
import { type Geometry, isPointwise, type TapRectangle, tapRectangles } from './conv-geometry.js';
import { disposeAll, heapFloats, kernelRunner, type WasmBackendLike } from './wasm-backend-access.js';
import { filterGradientOnGrid, paddedGrid, STACKED_FLOATS } from './wasm-filter-gradient-grid.js';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * A tap whose in-image outputs cover at least this share of the output grid multiplies the whole
 * dY (its window zero where it hangs over the padding); a smaller one multiplies only its own
 * rectangle of dY (fc6's 7x7 over a 3x9 map: 35 % of the full product is not padding).
 */
const FULL_GRID_SHARE = 0.75;

/**
 * A set of taps multiplied by one dY matrix: the whole output grid (`rectangle` undefined), or the
 * one rectangle they all share.
 */
interface TapGroup {
  taps: TapRectangle[];
  rectangle?: TapRectangle;
}

/** Taps grouped by the dY rows they need; taps entirely over the padding have no group (gradient 0). */
function groupTaps(info: Geometry): TapGroup[] {
  const full: TapGroup = { taps: [] };
  const byRectangle = new Map<string, TapGroup>();
  const gridSize = info.outHeight * info.outWidth;
  for (const tap of tapRectangles(info)) {
    const area = (tap.rowEnd - tap.rowStart) * (tap.colEnd - tap.colStart);
    if (area === 0) continue;
    if (area >= FULL_GRID_SHARE * gridSize) {
      full.taps.push(tap);
      continue;
    }
    const key = `${tap.rowStart},${tap.rowEnd},${tap.colStart},${tap.colEnd}`;
    const group = byRectangle.get(key) ?? { taps: [], rectangle: tap };
    group.taps.push(tap);
    byRectangle.set(key, group);
  }
  return [...(full.taps.length > 0 ? [full] : []), ...byRectangle.values()];
}

/**
 * Writes the im2col rows of `taps` for every input channel into `heap` at `target`: row (tap, c)
 * holds x[n, oh·s + kh − top, ow·s + kw − left, c] for every (n, oh, ow) of the group's grid,
 * zero where that falls outside the image. `source` is the channel-major input [C, N, H, W].
 */
function fillWindows(
  heap: Float32Array,
  target: number,
  source: number,
  info: Geometry,
  taps: TapRectangle[],
  rectangle: TapRectangle | undefined,
): void {
  const { batchSize, inHeight, inWidth, inChannels, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const rowStart = rectangle?.rowStart ?? 0;
  const rowEnd = rectangle?.rowEnd ?? info.outHeight;
  const colStart = rectangle?.colStart ?? 0;
  const colEnd = rectangle?.colEnd ?? info.outWidth;
  const rowLength = colEnd - colStart;
  const plane = inHeight * inWidth;
  let at = target;
  for (const tap of taps) {
    // Inside the group's grid, only the tap's own rectangle reads the image.
    const firstCol = Math.max(tap.colStart, colStart) - colStart;
    const endCol = Math.max(firstCol, Math.min(tap.colEnd, colEnd) - colStart);
    for (let c = 0; c < inChannels; c++) {
      for (let n = 0; n < batchSize; n++) {
        const image = source + (c * batchSize + n) * plane;
        for (let oh = rowStart; oh < rowEnd; oh++, at += rowLength) {
          if (oh < tap.rowStart || oh >= tap.rowEnd) {
            heap.fill(0, at, at + rowLength);
            continue;
          }
          const from = image + (oh * strideHeight + tap.kh - top) * inWidth + tap.kw - left;
          if (firstCol > 0) heap.fill(0, at, at + firstCol);
          if (strideWidth === 1) {
            const start = from + colStart + firstCol;
            heap.copyWithin(at + firstCol, start, start + endCol - firstCol);
          } else {
            for (let col = firstCol; col < endCol; col++)
              heap[at + col] = heap[from + (colStart + col) * strideWidth]!;
          }
          if (endCol < rowLength) heap.fill(0, at + endCol, at + rowLength);
        }
      }
    }
  }
}

/**
 * dW[kh, kw, c, k] = Σ_{n, oh, ow} x[n, oh·s + kh − top, ow·s + kw − left, c] · dy[n, oh, ow, k].
 * The input is transposed once to channel-major [C, N, H, W] (the wasm Transpose kernel); each
 * tap's window is then written as C rows over the output grid, several taps stacked, and one
 * untransposed matmul [taps·C, M] x [M, K] (XNNPACK's; its transposed forms are ~10x slower) gives
 * those taps' rows of dW in their final layout. Taps that only see padding are skipped, and taps
 * that see a small part of the image (fc6 on a 3x9 map) multiply only the dY rows they meet.
 */
export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const wasm = backend as unknown as WasmBackendLike;
  const run = kernelRunner(wasm);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inChannels, outChannels, outHeight, outWidth } = info;
  const sliceSize = inChannels * outChannels;
  const output = wasm.makeOutput(filterShape, 'float32');
  // Taps over the padding only keep these zeros.
  wasm.typedArrayFromHeap(output).fill(0);
  const channelMajor = run('Transpose', { x }, { perm: [3, 0, 1, 2] } as unknown as NamedAttrMap);
  const owned: TensorInfo[] = [channelMajor];
  try {
    const grid = paddedGrid(info);
    if (grid) {
      filterGradientOnGrid(wasm, run, info, grid, channelMajor, dy, output);
      return output;
    }
    if (isPointwise(info)) {
      // The channel-major input is the one window itself: [C, M] x [M, K] is dW.
      const windows = run(
        'Reshape',
        { x: channelMajor },
        { shape: [1, inChannels, batchSize * outHeight * outWidth] },
      );
      owned.push(windows);
      const reshaped = run(
        'Reshape',
        { x: dy },
        { shape: [1, batchSize * outHeight * outWidth, outChannels] },
      );
      owned.push(reshaped);
      const product = run(
        'BatchMatMul',
        { a: windows, b: reshaped },
        { transposeA: false, transposeB: false },
      );
      owned.push(product);
      const { heap, starts } = heapFloats(wasm, [product, output]);
      heap.copyWithin(starts[1]!, starts[0]!, starts[0]! + sliceSize);
      return output;
    }
    const wholeDy = run('Reshape', { x: dy }, { shape: [1, batchSize * outHeight * outWidth, outChannels] });
    owned.push(wholeDy);
    for (const group of groupTaps(info)) {
      const rows = group.rectangle ?? { rowStart: 0, rowEnd: outHeight, colStart: 0, colEnd: outWidth };
      const gridRows = rows.rowEnd - rows.rowStart;
      const gridCols = rows.colEnd - rows.colStart;
      const gridSize = batchSize * gridRows * gridCols;
      let dyMatrix = wholeDy;
      if (group.rectangle) {
        dyMatrix = wasm.makeOutput([1, gridSize, outChannels], 'float32');
        owned.push(dyMatrix);
        const { heap, starts } = heapFloats(wasm, [dy, dyMatrix]);
        const [dyStart, target] = starts as [number, number];
        const length = gridCols * outChannels;
        let at = target;
        for (let n = 0; n < batchSize; n++)
          for (let oh = rows.rowStart; oh < rows.rowEnd; oh++, at += length) {
            const from = dyStart + ((n * outHeight + oh) * outWidth + rows.colStart) * outChannels;
            heap.copyWithin(at, from, from + length);
          }
      }
      // Bounded by the windows and by the product: fc6's C x K block alone is 2M floats at full width.
      const tapsPerMatmul = Math.max(
        1,
        Math.floor(STACKED_FLOATS / (inChannels * Math.max(gridSize, outChannels))),
      );
      for (let first = 0; first < group.taps.length; first += tapsPerMatmul) {
        const taps = group.taps.slice(first, first + tapsPerMatmul);
        const windows = wasm.makeOutput([1, taps.length * inChannels, gridSize], 'float32');
        let product: TensorInfo | undefined;
        try {
          {
            const { heap, starts } = heapFloats(wasm, [channelMajor, windows]);
            fillWindows(heap, starts[1]!, starts[0]!, info, taps, group.rectangle);
          }
          product = run(
            'BatchMatMul',
            { a: windows, b: dyMatrix },
            {
              transposeA: false,
              transposeB: false,
            },
          );
          const { heap, starts } = heapFloats(wasm, [product, output]);
          const [productStart, outputStart] = starts as [number, number];
          // Each tap's C x K block goes to dW[kh, kw]; taps of one group need not be adjacent.
          taps.forEach((tap, i) => {
            const from = productStart + i * sliceSize;
            heap.copyWithin(outputStart + tap.tap * sliceSize, from, from + sliceSize);
          });
        } finally {
          disposeAll(wasm, windows, product);
        }
      }
    }
    return output;
  } catch (error) {
    wasm.disposeData(output.dataId);
    throw error;
  } finally {
    disposeAll(wasm, ...owned);
  }
};
