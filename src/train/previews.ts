// Image summaries as in the original write-up: class colours blended over the input, for the ground
// truth and for the prediction, encoded as PNG for TensorBoard and the HTML report.

import sharp from 'sharp';
import { IGNORE_LABEL } from '../data/types.js';
import type { ClassInfo } from '../model/manifest.js';

export interface PreviewSample {
  name: string;
  height: number;
  width: number;
  /** H×W×3 RGB bytes. */
  image: Uint8Array;
  truth: Uint8Array;
  predicted: Uint8Array;
}

/** 50 % class colour over the image; IGNORE_LABEL pixels keep the plain image. */
export function blendMask(
  image: Uint8Array,
  mask: Uint8Array,
  classes: readonly ClassInfo[],
  alpha = 0.5,
): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let i = 0; i < mask.length; i++) {
    const id = mask[i]!;
    const color = id === IGNORE_LABEL ? undefined : classes[id]?.color;
    for (let c = 0; c < 3; c++) {
      const pixel = image[i * 3 + c]!;
      out[i * 3 + c] = color ? Math.round(pixel * (1 - alpha) + color[c]! * alpha) : pixel;
    }
  }
  return out;
}

export async function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), {
      raw: { width, height, channels: 3 },
    })
      .png()
      .toBuffer(),
  );
}

export interface EncodedPreview {
  name: string;
  height: number;
  width: number;
  truthPng: Uint8Array;
  predictionPng: Uint8Array;
}

export async function encodePreviews(
  samples: readonly PreviewSample[],
  classes: readonly ClassInfo[],
): Promise<EncodedPreview[]> {
  return Promise.all(
    samples.map(async (sample) => ({
      name: sample.name,
      height: sample.height,
      width: sample.width,
      truthPng: await encodePng(blendMask(sample.image, sample.truth, classes), sample.width, sample.height),
      predictionPng: await encodePng(
        blendMask(sample.image, sample.predicted, classes),
        sample.width,
        sample.height,
      ),
    })),
  );
}
