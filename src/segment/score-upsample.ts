// Class masks at any size from one model output, in segnet's two filter modes: `point` samples
// the model-resolution mask (nearest neighbour, staircase edges), `linear` upsamples the class
// scores bilinearly and takes the argmax per output pixel (smooth edges at full resolution).

import { type Letterbox, samplingTable } from '../engine/preprocess.js';
import type { RawOutput } from '../engine/types.js';
import type { OutputContract } from '../model/manifest.js';
import { resampleNearest } from './postprocess.js';

export type FilterMode = 'point' | 'linear';
export const FILTER_MODES = ['point', 'linear'] as const;

/** What a mask at another size is made from: one segmentation result's mask and raw scores. */
export interface ScoreMap {
  /** Class id per model-output pixel (the point argmax of `rawOutput`). */
  classMask: Uint8Array;
  width: number;
  height: number;
  rawOutput: RawOutput;
  letterbox: Letterbox;
}

/** Linear filtering needs class scores; a model that outputs class ids has none. */
export function linearFilterProblem(output: OutputContract): string | undefined {
  return output.kind === 'classIds'
    ? 'the model outputs class ids, not class scores, so only --filter-mode point applies'
    : undefined;
}

/**
 * Masks at another size from a ScoreMap. Sampling tables are built once per (map, output,
 * letterbox) geometry and reused, so a stream of frames of one size allocates nothing.
 */
export class MaskUpsampler {
  private geometryKey = '';
  private columns: ReturnType<typeof samplingTable> | undefined;
  private rows: ReturnType<typeof samplingTable> | undefined;

  constructor(
    private readonly output: OutputContract,
    private readonly numClasses: number,
  ) {}

  /**
   * The class mask at `width`×`height` (frame aspect: a letterbox is undone), in `out`. At the
   * map's own size without letterbox bars the map's mask itself is returned: both modes sample
   * the pixel centres exactly there.
   */
  run(map: ScoreMap, width: number, height: number, mode: FilterMode, out: Uint8Array): Uint8Array {
    const box = map.letterbox;
    const unboxed = box.contentWidth === box.modelWidth && box.contentHeight === box.modelHeight;
    if (width === map.width && height === map.height && unboxed) return map.classMask;
    if (mode === 'point' || linearFilterProblem(this.output))
      return resampleNearest(map.classMask, map.width, map.height, width, height, out, map.letterbox);
    if (out.length < width * height) throw new RangeError(`out must hold ${width * height} pixels`);
    this.prepare(map, width, height);
    this.argmaxBilinear(map, width, height, out);
    return out;
  }

  private prepare(map: ScoreMap, width: number, height: number): void {
    const box = map.letterbox;
    const key = `${map.width}x${map.height}>${width}x${height}:${JSON.stringify(box)}`;
    if (key === this.geometryKey) return;
    this.geometryKey = key;
    // Output pixel i sits at model position offset + (i + 0.5) * content / size, i.e. map position
    // (that) * map/model - 0.5; indices are map pixels, the layout's strides are applied per class.
    const scaleX = map.width / box.modelWidth;
    const scaleY = map.height / box.modelHeight;
    this.columns = samplingTable(
      map.width,
      width,
      1,
      box.offsetX * scaleX,
      (box.contentWidth * scaleX) / width,
    );
    this.rows = samplingTable(
      map.height,
      height,
      map.width,
      box.offsetY * scaleY,
      (box.contentHeight * scaleY) / height,
    );
  }

  private argmaxBilinear(map: ScoreMap, width: number, height: number, out: Uint8Array): void {
    const scores = map.rawOutput as Float32Array;
    const mask = map.classMask;
    const n = this.numClasses;
    const pixels = map.width * map.height;
    if (scores.length !== pixels * n)
      throw new RangeError(`output has ${scores.length} values, expected ${pixels * n}`);
    const planar = this.output.layout === 'NCHW';
    const classStride = planar ? pixels : 1;
    const pixelStride = planar ? 1 : n;
    const { first: x0s, second: x1s, weight: fxs } = this.columns!;
    const { first: y0s, second: y1s, weight: fys } = this.rows!;
    for (let y = 0; y < height; y++) {
      const top = y0s[y]!;
      const bottom = y1s[y]!;
      const fy = fys[y]!;
      const gy = 1 - fy;
      const row = y * width;
      for (let x = 0; x < width; x++) {
        const i00 = top + x0s[x]!;
        const i01 = top + x1s[x]!;
        const i10 = bottom + x0s[x]!;
        const i11 = bottom + x1s[x]!;
        const first = mask[i00]!;
        // Where the four neighbours agree, every convex blend of their scores has the same
        // argmax (each neighbour's winner beats every other class there): no need to blend.
        if (mask[i01] === first && mask[i10] === first && mask[i11] === first) {
          out[row + x] = first;
          continue;
        }
        const fx = fxs[x]!;
        const gx = 1 - fx;
        const w00 = gx * gy;
        const w01 = fx * gy;
        const w10 = gx * fy;
        const w11 = fx * fy;
        const p00 = i00 * pixelStride;
        const p01 = i01 * pixelStride;
        const p10 = i10 * pixelStride;
        const p11 = i11 * pixelStride;
        let best = 0;
        let bestScore = Number.NEGATIVE_INFINITY;
        for (let c = 0, base = 0; c < n; c++, base += classStride) {
          const score =
            scores[base + p00]! * w00 +
            scores[base + p01]! * w01 +
            scores[base + p10]! * w10 +
            scores[base + p11]! * w11;
          if (score > bestScore) {
            bestScore = score;
            best = c;
          }
        }
        out[row + x] = best;
      }
    }
  }
}
