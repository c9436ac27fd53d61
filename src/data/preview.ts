// Blended previews: the photo with its colour-coded ground truth laid over it at `alpha`, so a
// person can see at a glance whether labels line up with the image.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ClassInfo } from '../model/manifest.js';

/**
 * `image` H*W*channels bytes, `classMap` H*W ids; pixels whose id has no class (ignore, unknown)
 * keep the photo unchanged. Returns H*W*3 RGB.
 */
export function blendLabels(
  image: Uint8Array,
  channels: number,
  classMap: Uint8Array,
  classes: readonly ClassInfo[],
  alpha: number,
): Uint8Array {
  const out = new Uint8Array(classMap.length * 3);
  const keep = 1 - alpha;
  for (let i = 0; i < classMap.length; i++) {
    const colour = classes[classMap[i]!]?.color;
    for (let c = 0; c < 3; c++) {
      const pixel = image[i * channels + c]!;
      out[i * 3 + c] = colour ? Math.round(pixel * keep + colour[c]! * alpha) : pixel;
    }
  }
  return out;
}

/** Writes `<dir>/<index>-<name>.png`; the index keeps names unique and in check order. */
export async function writePreview(
  dir: string,
  index: number,
  name: string,
  rgb: Uint8Array,
  width: number,
  height: number,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const safeName = name.replace(/[^\w.-]+/g, '_');
  const path = join(dir, `${String(index).padStart(4, '0')}-${safeName}.png`);
  await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 3 })
    .toFile(path);
  return path;
}
