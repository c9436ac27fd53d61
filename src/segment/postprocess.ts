// Model output → class mask: argmax over classes (logits, probabilities or class ids; NCHW or NHWC;
// the fused kernels are in segment/argmax) into a reused Uint8Array, per-class pixel fractions,
// per-class probability for MaxF, and nearest upsampling of the mask back onto the frame.

import { fullFrame, type Letterbox } from '../engine/preprocess.js';
import type { RawOutput } from '../engine/types.js';
import type { OutputContract } from '../model/manifest.js';
import { argmaxClasses } from './argmax.js';

/** Height and width of the model's output for the given contract and dims. */
export function outputSize(
  output: OutputContract,
  dims: readonly number[],
): { height: number; width: number } {
  if (output.kind === 'classIds' && dims.length === 3) return { height: dims[1]!, width: dims[2]! };
  if (dims.length !== 4) throw new RangeError(`model output has dims [${dims.join(', ')}], expected rank 4`);
  return output.layout === 'NCHW'
    ? { height: dims[2]!, width: dims[3]! }
    : { height: dims[1]!, width: dims[2]! };
}

export class Postprocessor {
  readonly output: OutputContract;
  readonly numClasses: number;
  readonly width: number;
  readonly height: number;
  /** Class id per output pixel, reused for every frame. */
  readonly classMask: Uint8Array;
  /** Fraction of the output pixels per class id (sums to 1), reused for every frame. */
  readonly classFractions: Float64Array;
  private readonly counts: Int32Array;

  constructor(output: OutputContract, numClasses: number, outputDims: readonly number[]) {
    this.output = output;
    this.numClasses = numClasses;
    const { height, width } = outputSize(output, outputDims);
    this.height = height;
    this.width = width;
    this.classMask = new Uint8Array(height * width);
    this.classFractions = new Float64Array(numClasses);
    this.counts = new Int32Array(numClasses);
  }

  /** Fills classMask and classFractions from one raw model output (read in place, never copied). */
  run(raw: RawOutput): void {
    const pixels = this.classMask.length;
    const n = this.numClasses;
    if (this.output.kind === 'classIds') this.copyClassIds(raw, pixels);
    else if (!(raw instanceof Float32Array))
      throw new TypeError(`${this.output.kind} output must be float32`);
    else if (raw.length !== pixels * n)
      throw new RangeError(`output has ${raw.length} values, expected ${pixels * n}`);
    else argmaxClasses(raw, this.output.layout, pixels, n, this.classMask, this.counts);
    for (let c = 0; c < n; c++) this.classFractions[c] = this.counts[c]! / pixels;
  }

  private copyClassIds(raw: RawOutput, pixels: number): void {
    if (raw.length !== pixels)
      throw new RangeError(`class-id output has ${raw.length} values, expected ${pixels}`);
    const mask = this.classMask;
    const counts = this.counts;
    const n = this.numClasses;
    counts.fill(0);
    let invalid = 0;
    for (let i = 0; i < pixels; i++) {
      const id = Number(raw[i]!);
      if (id >= 0 && id < n) {
        mask[i] = id;
        counts[id]!++;
      } else {
        mask[i] = 0;
        invalid++;
      }
    }
    if (invalid > 0)
      throw new RangeError(
        `model output ${invalid} class ids outside 0..${n - 1}: the manifest's classes do not match the model`,
      );
  }

  /**
   * Probability of `classId` per output pixel into `out` (softmax over logits; as-is for
   * probabilities; 0/1 for class ids). Used for KITTI's MaxF on the road class.
   */
  classProbability(raw: RawOutput, classId: number, out: Float32Array): Float32Array {
    const pixels = this.classMask.length;
    if (this.output.kind === 'classIds') {
      for (let i = 0; i < pixels; i++) out[i] = Number(raw[i]!) === classId ? 1 : 0;
      return out;
    }
    const scores = raw as Float32Array;
    const n = this.numClasses;
    const planar = this.output.layout === 'NCHW';
    const at = (i: number, c: number) => (planar ? scores[c * pixels + i]! : scores[i * n + c]!);
    for (let i = 0; i < pixels; i++) {
      if (this.output.kind === 'probabilities') {
        out[i] = at(i, classId);
        continue;
      }
      // p_k = 1 / Σ_j exp(l_j − l_k): stable without finding the maximum first.
      const own = at(i, classId);
      let sum = 0;
      for (let c = 0; c < n; c++) sum += Math.exp(Math.min(80, at(i, c) - own));
      out[i] = 1 / sum;
    }
    return out;
  }
}

/**
 * Nearest-neighbour resize of a class mask to `width`×`height`; with a letterbox, only the part of
 * the mask that holds the frame is stretched over it. Writes into `out` when given.
 */
export function upsampleMaskNearest(
  mask: Uint8Array,
  maskWidth: number,
  maskHeight: number,
  width: number,
  height: number,
  out?: Uint8Array,
  letterbox?: Letterbox,
): Uint8Array {
  return resampleNearest(
    mask,
    maskWidth,
    maskHeight,
    width,
    height,
    out ?? new Uint8Array(width * height),
    letterbox,
  );
}

/** The same mapping for any per-pixel map (class mask, class probability), into `out`. */
export function resampleNearest<Values extends Uint8Array | Float32Array>(
  values: Values,
  mapWidth: number,
  mapHeight: number,
  width: number,
  height: number,
  out: Values,
  letterbox?: Letterbox,
): Values {
  if (out.length < width * height) throw new RangeError(`out must hold ${width * height} pixels`);
  const box = letterbox ?? fullFrame(mapWidth, mapHeight);
  // The letterbox is in model-input pixels; the map may be at a different (output) resolution.
  const scaleX = mapWidth / box.modelWidth;
  const scaleY = mapHeight / box.modelHeight;
  for (let y = 0; y < height; y++) {
    const modelY = box.offsetY + ((y + 0.5) * box.contentHeight) / height;
    const rowIn = Math.min(mapHeight - 1, Math.floor(modelY * scaleY)) * mapWidth;
    const rowOut = y * width;
    for (let x = 0; x < width; x++) {
      const modelX = box.offsetX + ((x + 0.5) * box.contentWidth) / width;
      out[rowOut + x] = values[rowIn + Math.min(mapWidth - 1, Math.floor(modelX * scaleX))]!;
    }
  }
  return out;
}
