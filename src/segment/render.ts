// Pictures of a class mask: a paletted PNG whose pixel values are the class ids (viewers show the
// class colours, tools read the ids back), and the frame blended with the class colours.

import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { fullFrame, type Letterbox, type RgbPixels } from '../engine/preprocess.js';
import type { ClassInfo } from '../model/manifest.js';
import { CRC32_IEEE, crc32 } from '../system/crc.js';

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

function pngChunk(type: string, payload: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + payload.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, payload.length);
  for (let i = 0; i < 4; i++) chunk[4 + i] = type.charCodeAt(i);
  chunk.set(payload, 8);
  view.setUint32(8 + payload.length, crc32(CRC32_IEEE, chunk, 4, 8 + payload.length));
  return chunk;
}

/**
 * Encodes a class mask as an 8-bit paletted PNG: pixel value = class id, palette entry = class
 * colour (unused entries black). sharp cannot write a given palette, hence this small encoder.
 */
export function encodeClassMaskPng(
  mask: Uint8Array,
  width: number,
  height: number,
  classes: readonly ClassInfo[],
): Buffer {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = 3; // colour type: palette
  const palette = new Uint8Array(classes.length * 3);
  for (const cls of classes) palette.set(cls.color, cls.id * 3);
  // Each scanline starts with filter type 0 (none); masks are flat regions, deflate does the rest.
  const scanlines = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++)
    scanlines.set(mask.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const parts = [
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('PLTE', palette),
    pngChunk('IDAT', deflateSync(scanlines, { level: 6 })),
    pngChunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

/** Classes left untinted in overlays by default: void/background, like the original's road-only tint. */
export function defaultTransparentClassIds(classes: readonly ClassInfo[]): number[] {
  return classes
    .filter((cls) => cls.ignore || /^(background|unlabeled|unlabelled|void|other|none)$/i.test(cls.name))
    .map((cls) => cls.id);
}

export interface OverlayOptions {
  /** Weight of the class colour, 0 (frame only) .. 1 (colours only). Default 0.5. */
  alpha?: number;
  format?: 'jpeg' | 'png';
  /** JPEG quality. Default 85. */
  quality?: number;
  /** Where the frame sits in the model input (from Preprocessor.letterbox); default: stretched. */
  letterbox?: Letterbox;
  /** Class ids drawn without tint. Default: defaultTransparentClassIds(classes). */
  transparentClassIds?: readonly number[];
  /** Class ids the user asked to ignore (--ignore-class): untinted too. */
  ignoredClassIds?: readonly number[];
  /** Reused frame-sized RGB buffer for the blended pixels (frame width × height × 3). */
  scratch?: Uint8Array;
}

/** Reused by blendOverlay (synchronous, so one table serves every call). */
let maskColumns = new Int32Array(0);

/**
 * Blends the class colours over the frame at frame resolution (mask sampled nearest-neighbour)
 * into `options.scratch` (or a new buffer) and returns the RGB pixels: the overlay before encoding,
 * for video outputs and for renderOverlay.
 */
export function blendOverlay(
  frame: RgbPixels,
  mask: Uint8Array,
  maskWidth: number,
  maskHeight: number,
  classes: readonly ClassInfo[],
  options: OverlayOptions = {},
): Uint8Array {
  const alpha = Math.min(1, Math.max(0, options.alpha ?? 0.5));
  const { width, height, data } = frame;
  const out = options.scratch ?? new Uint8Array(width * height * 3);
  const tinted = new Uint8Array(256);
  for (const cls of classes) tinted[cls.id] = 1;
  for (const id of options.transparentClassIds ?? defaultTransparentClassIds(classes)) tinted[id] = 0;
  for (const id of options.ignoredClassIds ?? []) tinted[id] = 0;
  const colours = new Float32Array(256 * 3);
  for (const cls of classes)
    colours.set(
      cls.color.map((value) => value * alpha),
      cls.id * 3,
    );
  const box = options.letterbox ?? fullFrame(maskWidth, maskHeight);
  const scaleX = maskWidth / box.modelWidth;
  const scaleY = maskHeight / box.modelHeight;
  const keep = 1 - alpha;
  // The mask column of each frame column, worked out once per call rather than per pixel.
  if (maskColumns.length < width) maskColumns = new Int32Array(width);
  for (let x = 0; x < width; x++)
    maskColumns[x] = Math.min(
      maskWidth - 1,
      Math.floor((box.offsetX + ((x + 0.5) * box.contentWidth) / width) * scaleX),
    );
  for (let y = 0; y < height; y++) {
    const my = Math.min(
      maskHeight - 1,
      Math.floor((box.offsetY + ((y + 0.5) * box.contentHeight) / height) * scaleY),
    );
    const maskRow = my * maskWidth;
    for (let x = 0; x < width; x++) {
      const id = mask[maskRow + maskColumns[x]!]!;
      const i = (y * width + x) * 3;
      if (tinted[id] === 1) {
        out[i] = data[i]! * keep + colours[id * 3]!;
        out[i + 1] = data[i + 1]! * keep + colours[id * 3 + 1]!;
        out[i + 2] = data[i + 2]! * keep + colours[id * 3 + 2]!;
      } else {
        out[i] = data[i]!;
        out[i + 1] = data[i + 1]!;
        out[i + 2] = data[i + 2]!;
      }
    }
  }
  return out;
}

/** blendOverlay, encoded as JPEG or PNG. */
export async function renderOverlay(...overlay: Parameters<typeof blendOverlay>): Promise<Buffer> {
  const [{ width, height }, , , , , options = {}] = overlay;
  const out = blendOverlay(...overlay);
  const image = sharp(out, { raw: { width, height, channels: 3 } });
  return options.format === 'png'
    ? await image.png().toBuffer()
    : await image.jpeg({ quality: options.quality ?? 85 }).toBuffer();
}

/** The class colours of a mask as RGB pixels (a colour picture of the mask), into `out`. */
export function colourMask(mask: Uint8Array, classes: readonly ClassInfo[], out: Uint8Array): Uint8Array {
  const palette = new Uint8Array(256 * 3);
  for (const cls of classes) palette.set(cls.color, cls.id * 3);
  for (let i = 0, o = 0; i < mask.length; i++, o += 3) {
    const p = mask[i]! * 3;
    out[o] = palette[p]!;
    out[o + 1] = palette[p + 1]!;
    out[o + 2] = palette[p + 2]!;
  }
  return out;
}
