// Frame → model input in one pass: bilinear resize (stretch or letterbox), channel order, layout
// (NCHW/NHWC) and normalisation written straight into a reused Float32Array. Also decodes files.

import sharp from 'sharp';
import type { RgbFrame } from '../capture/types.js';
import type { InputContract } from '../model/manifest.js';
import { errorMessage, FileError } from '../system/errors.js';

/** Where the frame landed inside the model input (all of it for stretch). */
export interface Letterbox {
  offsetX: number;
  offsetY: number;
  contentWidth: number;
  contentHeight: number;
  modelWidth: number;
  modelHeight: number;
}

/** A frame's pixels; captureTimeMs is not needed to preprocess. */
export type RgbPixels = Pick<RgbFrame, 'data' | 'width' | 'height'>;

/** The letterbox of a map that covers the whole model input (no bars). */
export function fullFrame(width: number, height: number): Letterbox {
  return {
    offsetX: 0,
    offsetY: 0,
    contentWidth: width,
    contentHeight: height,
    modelWidth: width,
    modelHeight: height,
  };
}

export function letterboxFor(
  resize: 'stretch' | 'letterbox',
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
): Letterbox {
  if (resize === 'stretch') return fullFrame(dstWidth, dstHeight);
  const model = { modelWidth: dstWidth, modelHeight: dstHeight };
  const scale = Math.min(dstWidth / srcWidth, dstHeight / srcHeight);
  const contentWidth = Math.max(1, Math.min(dstWidth, Math.round(srcWidth * scale)));
  const contentHeight = Math.max(1, Math.min(dstHeight, Math.round(srcHeight * scale)));
  return {
    offsetX: Math.floor((dstWidth - contentWidth) / 2),
    offsetY: Math.floor((dstHeight - contentHeight) / 2),
    contentWidth,
    contentHeight,
    ...model,
  };
}

/**
 * Half-pixel-centre sampling positions (as OpenCV and tf.image with half_pixel_centers): for each
 * destination index the two source indices (pre-multiplied by `stride`) and the weight of the second.
 * Destination pixel d sits at source position `start + (d + 0.5) * step - 0.5` (by default the
 * whole source stretched over the destination), clamped to the source.
 */
export function samplingTable(
  srcSize: number,
  dstSize: number,
  stride: number,
  start = 0,
  step = srcSize / dstSize,
): { first: Int32Array; second: Int32Array; weight: Float32Array } {
  const first = new Int32Array(dstSize);
  const second = new Int32Array(dstSize);
  const weight = new Float32Array(dstSize);
  for (let d = 0; d < dstSize; d++) {
    const position = Math.min(srcSize - 1, Math.max(0, start + (d + 0.5) * step - 0.5));
    const low = Math.floor(position);
    first[d] = low * stride;
    second[d] = Math.min(low + 1, srcSize - 1) * stride;
    weight[d] = position - low;
  }
  return { first, second, weight };
}

export class Preprocessor {
  readonly input: InputContract;
  /** The model input, reused for every frame. */
  readonly buffer: Float32Array;
  private srcWidth = 0;
  private srcHeight = 0;
  private box: Letterbox;
  private columns = samplingTable(1, 1, 3);
  private rows = samplingTable(1, 1, 3);
  /** Per source channel (R, G, B): destination offset and the affine normalisation a*x+b. */
  private readonly channelOffset: Int32Array;
  private readonly gain: Float32Array;
  private readonly bias: Float32Array;
  private readonly pixelStride: number;
  private readonly rowStride: number;

  constructor(input: InputContract, buffer?: Float32Array) {
    this.input = input;
    const size = input.height * input.width * 3;
    if (buffer && buffer.length !== size) throw new RangeError(`buffer must hold ${size} values`);
    this.buffer = buffer ?? new Float32Array(size);
    const plane = input.height * input.width;
    this.channelOffset = new Int32Array(3);
    this.gain = new Float32Array(3);
    this.bias = new Float32Array(3);
    for (let source = 0; source < 3; source++) {
      const modelChannel = input.channelOrder === 'RGB' ? source : 2 - source;
      this.channelOffset[source] = input.layout === 'NCHW' ? modelChannel * plane : modelChannel;
      this.gain[source] = input.scale / input.std[modelChannel]!;
      this.bias[source] = -input.mean[modelChannel]! / input.std[modelChannel]!;
    }
    this.pixelStride = input.layout === 'NCHW' ? 1 : 3;
    this.rowStride = input.width * this.pixelStride;
    this.box = letterboxFor('stretch', input.width, input.height, input.width, input.height);
  }

  /** Where the last frame sits in the model input (for mapping the mask back onto the frame). */
  get letterbox(): Letterbox {
    return this.box;
  }

  // Tables depend only on the frame size: rebuilt when it changes, never per frame.
  private prepare(srcWidth: number, srcHeight: number): void {
    if (srcWidth === this.srcWidth && srcHeight === this.srcHeight) return;
    const { width, height, resize } = this.input;
    this.srcWidth = srcWidth;
    this.srcHeight = srcHeight;
    this.box = letterboxFor(resize, srcWidth, srcHeight, width, height);
    this.columns = samplingTable(srcWidth, this.box.contentWidth, 3);
    this.rows = samplingTable(srcHeight, this.box.contentHeight, srcWidth * 3);
    // Letterbox bars: raw pixel value 0 (black) after normalisation; the content area is rewritten per frame.
    const plane = width * height;
    for (let source = 0; source < 3; source++) {
      const offset = this.channelOffset[source]!;
      const value = this.bias[source]!;
      for (let i = 0; i < plane; i++) this.buffer[offset + i * this.pixelStride] = value;
    }
  }

  run(frame: RgbPixels): Float32Array {
    const { data, width, height } = frame;
    if (data.length < width * height * 3)
      throw new RangeError(`frame data has ${data.length} bytes, expected ${width * height * 3}`);
    this.prepare(width, height);
    if (width === this.box.contentWidth && height === this.box.contentHeight) this.copyExact(data);
    else this.resizeBilinear(data);
    return this.buffer;
  }

  private copyExact(data: Uint8Array): void {
    const out = this.buffer;
    const { offsetX, offsetY, contentWidth, contentHeight } = this.box;
    const step = this.pixelStride;
    const [oR, oG, oB] = this.channelOffset as unknown as [number, number, number];
    const [aR, aG, aB] = this.gain as unknown as [number, number, number];
    const [bR, bG, bB] = this.bias as unknown as [number, number, number];
    let source = 0;
    for (let y = 0; y < contentHeight; y++) {
      let target = (offsetY + y) * this.rowStride + offsetX * step;
      for (let x = 0; x < contentWidth; x++, source += 3, target += step) {
        out[oR + target] = data[source]! * aR + bR;
        out[oG + target] = data[source + 1]! * aG + bG;
        out[oB + target] = data[source + 2]! * aB + bB;
      }
    }
  }

  private resizeBilinear(data: Uint8Array): void {
    const out = this.buffer;
    const { offsetX, offsetY, contentWidth, contentHeight } = this.box;
    const step = this.pixelStride;
    const [oR, oG, oB] = this.channelOffset as unknown as [number, number, number];
    const [aR, aG, aB] = this.gain as unknown as [number, number, number];
    const [bR, bG, bB] = this.bias as unknown as [number, number, number];
    const { first: x0s, second: x1s, weight: fxs } = this.columns;
    const { first: y0s, second: y1s, weight: fys } = this.rows;
    for (let dy = 0; dy < contentHeight; dy++) {
      const top = y0s[dy]!;
      const bottom = y1s[dy]!;
      const fy = fys[dy]!;
      const gy = 1 - fy;
      let target = (offsetY + dy) * this.rowStride + offsetX * step;
      for (let dx = 0; dx < contentWidth; dx++, target += step) {
        const left = x0s[dx]!;
        const right = x1s[dx]!;
        const fx = fxs[dx]!;
        const gx = 1 - fx;
        // Weights of the four neighbours, shared by the three channels.
        const w00 = gx * gy;
        const w01 = fx * gy;
        const w10 = gx * fy;
        const w11 = fx * fy;
        const i00 = top + left;
        const i01 = top + right;
        const i10 = bottom + left;
        const i11 = bottom + right;
        const r = data[i00]! * w00 + data[i01]! * w01 + data[i10]! * w10 + data[i11]! * w11;
        const g = data[i00 + 1]! * w00 + data[i01 + 1]! * w01 + data[i10 + 1]! * w10 + data[i11 + 1]! * w11;
        const b = data[i00 + 2]! * w00 + data[i01 + 2]! * w01 + data[i10 + 2]! * w10 + data[i11 + 2]! * w11;
        out[oR + target] = r * aR + bR;
        out[oG + target] = g * aG + bG;
        out[oB + target] = b * aB + bB;
      }
    }
  }
}

/** Decodes an image file or encoded bytes (any format sharp reads, EXIF orientation applied) into an RGB frame. */
export async function decodeImageFile(path: string | Buffer): Promise<RgbFrame> {
  try {
    const { data, info } = await sharp(path)
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      captureTimeMs: Date.now(),
    };
  } catch (error) {
    const name = typeof path === 'string' ? path : '(encoded image in memory)';
    throw new FileError(name, `cannot decode image: ${errorMessage(error)}`, { cause: error });
  }
}
