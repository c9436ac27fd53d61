// The upsampling self-test: the bilinear-initialised transposed convolution reproduces an
// independent bilinear interpolation (half-pixel centres, written here, not the kernel code)
// within 1 grey level away from the borders, on a real PNG read and written by sharp.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { mulberry32 } from '../../src/model/random.js';
import { initTf } from '../../src/model/tf.js';
import { upscaleFile, upscalePixels } from '../../src/model/upscale.js';
import { makeTempDir } from '../helpers/tmp.js';

before(async () => {
  await initTf('auto');
});

/** Reference: output pixel i samples the source at (i + 0.5) / f - 0.5, edges clamped. */
function bilinearReference(src: Uint8Array, h: number, w: number, c: number, f: number): Float64Array {
  const out = new Float64Array(h * f * w * f * c);
  const clamp = (v: number, max: number) => Math.min(Math.max(v, 0), max);
  for (let y = 0; y < h * f; y++) {
    const sy = clamp((y + 0.5) / f - 0.5, h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const dy = sy - y0;
    for (let x = 0; x < w * f; x++) {
      const sx = clamp((x + 0.5) / f - 0.5, w - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, w - 1);
      const dx = sx - x0;
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => src[(yy * w + xx) * c + k]!;
        out[(y * w * f + x) * c + k] =
          (1 - dy) * ((1 - dx) * at(y0, x0) + dx * at(y0, x1)) +
          dy * ((1 - dx) * at(y1, x0) + dx * at(y1, x1));
      }
    }
  }
  return out;
}

/** A picture with smooth gradients, hard edges and noise, so interpolation errors would show. */
function testPicture(h: number, w: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const pixels = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      pixels[i] = Math.round((255 * x) / (w - 1));
      pixels[i + 1] = (x >> 2) % 2 === (y >> 2) % 2 ? 230 : 20;
      pixels[i + 2] = Math.floor(random() * 256);
    }
  return pixels;
}

function maxInteriorDiff(
  actual: Uint8Array,
  expected: Float64Array,
  h: number,
  w: number,
  c: number,
  border: number,
) {
  let maxDiff = 0;
  for (let y = border; y < h - border; y++)
    for (let x = border; x < w - border; x++)
      for (let k = 0; k < c; k++) {
        const i = (y * w + x) * c + k;
        maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
      }
  return maxDiff;
}

for (const factor of [2, 3, 8]) {
  test(`factor ${factor}: the transposed convolution equals bilinear interpolation within 1 grey level`, () => {
    const [h, w] = [20, 28];
    const picture = testPicture(h, w, factor);
    const upsampled = upscalePixels(picture, h, w, 3, factor);
    const reference = bilinearReference(picture, h, w, 3, factor);
    const diff = maxInteriorDiff(upsampled, reference, h * factor, w * factor, 3, factor);
    assert.ok(diff <= 1, `max interior difference ${diff} grey levels`);
  });
}

test('upscaleFile reads a PNG and writes one factor times larger that matches bilinear interpolation', async () => {
  const dir = await makeTempDir();
  const [h, w, factor] = [24, 40, 8];
  const picture = testPicture(h, w, 1);
  const input = join(dir, 'in.png');
  await sharp(picture, { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toFile(input);
  const result = await upscaleFile(input, join(dir, 'out.png'), factor);
  assert.deepEqual([result.outWidth, result.outHeight, result.kernelSize], [w * factor, h * factor, 16]);
  const { data, info } = await sharp(join(dir, 'out.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [w * factor, h * factor, 3]);
  const reference = bilinearReference(picture, h, w, 3, factor);
  assert.ok(maxInteriorDiff(new Uint8Array(data), reference, h * factor, w * factor, 3, factor) <= 1);
  // The borders are where the zero padding shows: the picture is not simply copied.
  assert.ok(maxInteriorDiff(new Uint8Array(data), reference, h * factor, w * factor, 3, 0) > 1);
});

test('a factor outside 2-32 and an unreadable image are user errors naming the problem', async () => {
  assert.throws(
    () => upscalePixels(new Uint8Array(3), 1, 1, 3, 1),
    /--factor must be an integer from 2 to 32/,
  );
  const dir = await makeTempDir();
  await assert.rejects(
    upscaleFile(join(dir, 'nope.png'), join(dir, 'out.png'), 8),
    /nope\.png: cannot read the image/,
  );
});
