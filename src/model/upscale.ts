// The upsampling self-test (the original author's check): an image pushed through the same
// bilinear-initialised transposed convolution the FCN heads start with comes out as the same
// picture, `factor` times larger.

import sharp from 'sharp';
import { errorMessage, FileError, UserError } from '../system/errors.js';
import { kernelShape, upsamplingLayer } from './architecture.js';
import { kernelSizeForFactor } from './bilinear.js';
import { initialKernel, upsampleTransposed } from './fcn8s.js';
import { initTf, tf } from './tf.js';

/** Refuse outputs beyond this many pixels: a float32 copy of each would run to gigabytes. */
const MAX_OUTPUT_PIXELS = 64e6;

export interface UpscaleResult {
  inWidth: number;
  inHeight: number;
  outWidth: number;
  outHeight: number;
  channels: number;
  kernelSize: number;
}

export function validateFactor(factor: number): void {
  if (!Number.isInteger(factor) || factor < 2 || factor > 32)
    throw new UserError(`--factor must be an integer from 2 to 32, got ${factor}`);
}

/**
 * Upsamples HWC 8-bit pixels by `factor` through an upsampling layer exactly as the heads' start:
 * the FCN bilinear filter on the channel diagonal (channel c -> channel c), stride `factor`, SAME.
 */
export function upscalePixels(
  pixels: Uint8Array,
  height: number,
  width: number,
  channels: number,
  factor: number,
): Uint8Array {
  validateFactor(factor);
  const layer = upsamplingLayer('upscale', factor, channels);
  const values = tf.tidy(() => {
    const image = tf.tensor4d(Float32Array.from(pixels), [1, height, width, channels]);
    const kernel = tf.tensor4d(initialKernel(layer, 0), kernelShape(layer));
    const upsampled = upsampleTransposed(image, kernel, layer.stride);
    return tf.clipByValue(tf.round(upsampled), 0, 255).dataSync() as Float32Array;
  });
  // Already rounded and clamped to 0-255, so the element-wise conversion is exact.
  return new Uint8Array(values);
}

/** Reads `inPath` (any format sharp reads), upsamples every channel, writes `outPath` (format from its extension). */
export async function upscaleFile(inPath: string, outPath: string, factor: number): Promise<UpscaleResult> {
  validateFactor(factor);
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(inPath).raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new FileError(inPath, `cannot read the image (${errorMessage(error)})`, { cause: error });
  }
  const { width, height, channels } = decoded.info;
  if (width * height * factor * factor > MAX_OUTPUT_PIXELS)
    throw new UserError(
      `${inPath}: ${height}x${width} (HxW) times ${factor} would be ${height * factor}x${width * factor}, over ${MAX_OUTPUT_PIXELS / 1e6} megapixels`,
      { hint: 'use a smaller image or a smaller --factor' },
    );
  await initTf('auto');
  const pixels = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  const upsampled = upscalePixels(pixels, height, width, channels, factor);
  try {
    await sharp(upsampled, { raw: { width: width * factor, height: height * factor, channels } }).toFile(
      outPath,
    );
  } catch (error) {
    // libvips reports on several lines, the cause last of all ("system error: No space left on device").
    const cause = /system error: (?!Unknown)(.+)/.exec(errorMessage(error))?.[1];
    throw new FileError(outPath, `cannot write the image${cause ? `: ${cause}` : ''}`, { cause: error });
  }
  return {
    inWidth: width,
    inHeight: height,
    outWidth: width * factor,
    outHeight: height * factor,
    channels,
    kernelSize: kernelSizeForFactor(factor),
  };
}
