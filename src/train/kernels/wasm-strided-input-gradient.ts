// Conv2DBackpropInput at stride s > 1 on the wasm backend (the forward pass of conv2dTranspose, the
// FCN upsampling; ResNet's strided input gradients), in place of tfjs 4.22's direct loop: split
// into s x s sub-pixel phases, computed by small stride-1 convolutions on XNNPACK's Conv2D.

import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { type Geometry, validRange } from './conv-geometry.js';
import {
  disposeAll,
  heapFloats,
  type RunKernel,
  type WasmBackendLike,
  zeroedOutput,
} from './wasm-backend-access.js';

/**
 * The pixels of dx at rows a·s + rh − top, columns b·s + rw − left: a in `rows`, b in `cols`. They
 * are a stride-1 convolution of dy with the filter's taps rh, rh + s, ... (tapsHigh of them) by
 * rw, rw + s, ... (tapsWide), reversed:
 * dx[a·s + rh − top] = Σ_j dy[a − (tapsHigh − 1) + j] · w[rh + s·(tapsHigh − 1 − j)] (same across).
 */
interface Phase {
  rh: number;
  rw: number;
  tapsHigh: number;
  tapsWide: number;
  rows: [number, number];
  cols: [number, number];
}

/** The phases that have taps and pixels (a 1x1 stride-2 filter has one of four). */
function phasesOf(info: Geometry): Phase[] {
  const { filterHeight, filterWidth, strideHeight, strideWidth, inHeight, inWidth } = info;
  const phases: Phase[] = [];
  for (let rh = 0; rh < Math.min(strideHeight, filterHeight); rh++)
    for (let rw = 0; rw < Math.min(strideWidth, filterWidth); rw++) {
      const rows = validRange(rh, strideHeight, info.padInfo.top, inHeight, Number.MAX_SAFE_INTEGER);
      const cols = validRange(rw, strideWidth, info.padInfo.left, inWidth, Number.MAX_SAFE_INTEGER);
      if (rows[1] > rows[0] && cols[1] > cols[0])
        phases.push({
          rh,
          rw,
          tapsHigh: Math.ceil((filterHeight - rh) / strideHeight),
          tapsWide: Math.ceil((filterWidth - rw) / strideWidth),
          rows,
          cols,
        });
    }
  return phases;
}

/**
 * Writes the pixels of a group of phases into dx with ONE convolution: the phases' reversed taps
 * side by side as output channels of a [tapsHigh, tapsWide, K, phases·C] filter (a phase with
 * fewer taps gets zero taps in front), then each phase's channels go to its pixels.
 */
function writePhases(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  dy: TensorInfo,
  filter: TensorInfo,
  dx: TensorInfo,
  group: Phase[],
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const tapsHigh = Math.max(...group.map((phase) => phase.tapsHigh));
  const tapsWide = Math.max(...group.map((phase) => phase.tapsWide));
  const width = group.length * inChannels;
  const groupFilter = wasm.makeOutput([tapsHigh, tapsWide, outChannels, width], 'float32');
  let output: TensorInfo | undefined;
  try {
    {
      const { heap, starts } = heapFloats(wasm, [filter, groupFilter]);
      const [source, target] = starts as [number, number];
      heap.fill(0, target, target + tapsHigh * tapsWide * outChannels * width);
      group.forEach((phase, p) => {
        for (let j = 0; j < phase.tapsHigh; j++)
          for (let i = 0; i < phase.tapsWide; i++) {
            const kh = phase.rh + strideHeight * (phase.tapsHigh - 1 - j);
            const kw = phase.rw + strideWidth * (phase.tapsWide - 1 - i);
            const block = source + (kh * filterWidth + kw) * inChannels * outChannels;
            const row = (tapsHigh - phase.tapsHigh + j) * tapsWide + (tapsWide - phase.tapsWide + i);
            const tap = target + row * outChannels * width + p * inChannels;
            for (let k = 0; k < outChannels; k++)
              for (let c = 0; c < inChannels; c++)
                heap[tap + k * width + c] = heap[block + c * outChannels + k]!;
          }
      });
    }
    const rowEnd = Math.max(...group.map((phase) => phase.rows[1]));
    const colEnd = Math.max(...group.map((phase) => phase.cols[1]));
    output = run('Conv2D', { x: dy, filter: groupFilter }, {
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
    const [, outputHeight, outputWidth] = output.shape as [number, number, number, number];
    const { heap, starts } = heapFloats(wasm, [output, dx]);
    const [outputStart, dxStart] = starts as [number, number];
    group.forEach(({ rh, rw, rows, cols }, p) => {
      for (let n = 0; n < batchSize; n++)
        for (let a = rows[0]; a < rows[1]; a++) {
          const dxRow = (n * inHeight + a * strideHeight + rh - top) * inWidth;
          const outputRow = (n * outputHeight + a) * outputWidth;
          for (let b = cols[0]; b < cols[1]; b++) {
            const from = outputStart + (outputRow + b) * width + p * inChannels;
            const to = dxStart + (dxRow + b * strideWidth + rw - left) * inChannels;
            for (let c = 0; c < inChannels; c++) heap[to + c] = heap[from + c]!;
          }
        }
    });
  } finally {
    disposeAll(wasm, groupFilter, output);
  }
}

/**
 * dx of a strided convolution. Up to 2x2 phases (ResNet's stride 2) one convolution each: together
 * they would multiply zero taps (7 of 16 for a 3x3). More (the x8 upsampling's 64) all at once:
 * 64 small XNNPACK operators cost more in calls than in work.
 */
export function stridedConv2DBackpropInput(
  wasm: WasmBackendLike,
  run: RunKernel,
  info: Geometry,
  dy: TensorInfo,
  filter: TensorInfo,
): TensorInfo {
  const phases = phasesOf(info);
  const groups = info.strideHeight * info.strideWidth > 4 ? [phases] : phases.map((phase) => [phase]);
  const shape = [info.batchSize, info.inHeight, info.inWidth, info.inChannels];
  // Pixels of phases without taps (r ≥ the filter size) keep the zeros.
  return zeroedOutput(wasm, shape, (dx) => {
    for (const group of groups) writePhases(wasm, run, info, dy, filter, dx, group);
  });
}
