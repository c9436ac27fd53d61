// Where each tap (kh, kw) of a convolution reads the image rather than its padding: the geometry
// the wasm convolution kernels share.

import type { tf } from '../../model/tf.js';

export type Geometry = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

/** Outputs o in [0, outSize) with o·stride + k − pad inside [0, inSize). */
export function validRange(
  k: number,
  stride: number,
  pad: number,
  inSize: number,
  outSize: number,
): [number, number] {
  const start = Math.min(outSize, Math.max(0, Math.ceil((pad - k) / stride)));
  const end = Math.max(start, Math.min(outSize, Math.ceil((inSize + pad - k) / stride)));
  return [start, end];
}

/** The output positions [rowStart, rowEnd) x [colStart, colEnd) whose tap (kh, kw) falls inside the image. */
export interface TapRectangle {
  tap: number;
  kh: number;
  kw: number;
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

/** A 1x1 stride-1 convolution without padding: its one window is the input itself. */
export function isPointwise(info: Geometry): boolean {
  return (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0
  );
}

export function tapRectangles(info: Geometry): TapRectangle[] {
  const { filterHeight, filterWidth, strideHeight, strideWidth, inHeight, inWidth, outHeight, outWidth } =
    info;
  const rectangles: TapRectangle[] = [];
  for (let kh = 0; kh < filterHeight; kh++) {
    const [rowStart, rowEnd] = validRange(kh, strideHeight, info.padInfo.top, inHeight, outHeight);
    for (let kw = 0; kw < filterWidth; kw++) {
      const [colStart, colEnd] = validRange(kw, strideWidth, info.padInfo.left, inWidth, outWidth);
      rectangles.push({ tap: kh * filterWidth + kw, kh, kw, rowStart, rowEnd, colStart, colEnd });
    }
  }
  return rectangles;
}

/** The share of a convolution's multiply-adds that read the image, not its zero padding. */
export function imageShare(info: Geometry): number {
  let area = 0;
  for (const tap of tapRectangles(info)) area += (tap.rowEnd - tap.rowStart) * (tap.colEnd - tap.colStart);
  return area / (info.filterHeight * info.filterWidth * info.outHeight * info.outWidth);
}
