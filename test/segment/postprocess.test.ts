// Argmax, class fractions, class probabilities, mask upsampling and mask/overlay pictures on known tensors.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { ClassInfo } from '../../src/model/manifest.js';
import { Postprocessor, upsampleMaskNearest } from '../../src/segment/postprocess.js';
import { encodeClassMaskPng, renderOverlay } from '../../src/segment/render.js';

// 2x3 output, 3 classes; per pixel the winning class is [2, 0, 1, 1, 2, 2].
const winners = [2, 0, 1, 1, 2, 2];
const pixels = winners.length;
function logitsNchw(): Float32Array {
  const out = new Float32Array(3 * pixels);
  winners.forEach((winner, i) => {
    for (let c = 0; c < 3; c++) out[c * pixels + i] = c === winner ? 2 + i : -1 - c;
  });
  return out;
}
function toNhwc(planar: Float32Array): Float32Array {
  const out = new Float32Array(planar.length);
  for (let i = 0; i < pixels; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = planar[c * pixels + i]!;
  return out;
}

test('argmax over NCHW and NHWC logits gives the known mask and fractions summing to 1', () => {
  for (const layout of ['NCHW', 'NHWC'] as const) {
    const post = new Postprocessor(
      { name: 'logits', kind: 'logits', layout },
      3,
      layout === 'NCHW' ? [1, 3, 2, 3] : [1, 2, 3, 3],
    );
    assert.equal(post.width, 3);
    assert.equal(post.height, 2);
    post.run(layout === 'NCHW' ? logitsNchw() : toNhwc(logitsNchw()));
    assert.deepEqual(Array.from(post.classMask), winners, layout);
    assert.deepEqual(Array.from(post.classFractions), [1 / 6, 2 / 6, 3 / 6]);
    assert.equal(
      post.classFractions.reduce((a, b) => a + b, 0),
      1,
    );
  }
});

/** The plain argmax the fused kernels must match: first class wins among equal scores. */
function referenceArgmax(scores: Float32Array, pixels: number, n: number, planar: boolean): number[] {
  const mask: number[] = [];
  for (let i = 0; i < pixels; i++) {
    const at = (c: number) => (planar ? scores[c * pixels + i]! : scores[i * n + c]!);
    let best = at(0);
    let bestClass = 0;
    for (let c = 1; c < n; c++)
      if (at(c) > best) {
        best = at(c);
        bestClass = c;
      }
    mask.push(bestClass);
  }
  return mask;
}

test('argmax matches the plain loop exactly on noisy logits, ties and signed zeros, 2 and 6 classes, NCHW and NHWC', () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const [height, width] = [23, 37];
  const pixels = height * width;
  for (const n of [2, 6])
    for (const layout of ['NCHW', 'NHWC'] as const)
      for (const kind of ['noisy', 'ties'] as const) {
        const scores = new Float32Array(pixels * n);
        for (let i = 0; i < scores.length; i++) {
          const value = (random() - 0.5) * 200;
          // 'ties': few distinct values, so most pixels have equal scores; -0 and +0 among them.
          scores[i] = kind === 'ties' ? [-0, 0, 1, -1, 3e38, -3e38][Math.floor(random() * 6)]! : value;
        }
        const dims = layout === 'NCHW' ? [1, n, height, width] : [1, height, width, n];
        const post = new Postprocessor({ name: 'logits', kind: 'logits', layout }, n, dims);
        post.run(scores);
        const expected = referenceArgmax(scores, pixels, n, layout === 'NCHW');
        const label = `${n} classes ${layout} ${kind}`;
        assert.deepEqual(Array.from(post.classMask), expected, label);
        for (let c = 0; c < n; c++) {
          const count = expected.filter((id) => id === c).length;
          assert.equal(post.classFractions[c], count / pixels, `${label}: fraction of class ${c}`);
        }
      }
});

test('int64 class-id outputs are copied; ids outside the class list are an error', () => {
  const post = new Postprocessor({ name: 'ids', kind: 'classIds', layout: 'NCHW' }, 3, [1, 2, 3]);
  post.run(BigInt64Array.from(winners.map(BigInt)));
  assert.deepEqual(Array.from(post.classMask), winners);
  assert.throws(() => post.run(BigInt64Array.from([0n, 1n, 2n, 3n, 0n, 0n])), /outside 0\.\.2/);
});

test('class probability: softmax of logits, probabilities as-is', () => {
  const post = new Postprocessor({ name: 'logits', kind: 'logits', layout: 'NCHW' }, 2, [1, 2, 1, 2]);
  const logits = Float32Array.from([0, Math.log(3), 0, 0]); // class0 plane, class1 plane
  const probability = post.classProbability(logits, 1, new Float32Array(2));
  assert.ok(Math.abs(probability[0]! - 0.5) < 1e-6);
  assert.ok(Math.abs(probability[1]! - 0.25) < 1e-6);
  const probs = new Postprocessor({ name: 'p', kind: 'probabilities', layout: 'NHWC' }, 2, [1, 1, 2, 2]);
  const out = probs.classProbability(Float32Array.from([0.9, 0.1, 0.3, 0.7]), 1, new Float32Array(2));
  assert.deepEqual(
    Array.from(out).map((v) => Math.round(v * 10) / 10),
    [0.1, 0.7],
  );
});

test('nearest upsampling maps the mask onto the frame, undoing a letterbox', () => {
  const mask = Uint8Array.from([0, 1, 2, 3]); // 2x2
  assert.deepEqual(Array.from(upsampleMaskNearest(mask, 2, 2, 4, 2)), [0, 0, 1, 1, 2, 2, 3, 3]);
  // 4x4 model input holding a 4x2 frame in rows 1..2: the frame sees only those rows.
  const boxed = Uint8Array.from([9, 9, 9, 9, 1, 1, 2, 2, 3, 3, 4, 4, 9, 9, 9, 9]);
  const letterbox = {
    offsetX: 0,
    offsetY: 1,
    contentWidth: 4,
    contentHeight: 2,
    modelWidth: 4,
    modelHeight: 4,
  };
  assert.deepEqual(Array.from(upsampleMaskNearest(boxed, 4, 4, 2, 2, undefined, letterbox)), [1, 2, 3, 4]);
});

const classes: ClassInfo[] = [
  { id: 0, name: 'background', color: [0, 0, 0], ignore: false },
  { id: 1, name: 'road', color: [255, 0, 255], ignore: false },
  { id: 2, name: 'car', color: [0, 0, 255], ignore: false },
];

test('the class mask PNG is paletted: pixel values are class ids, colours are the class colours', async () => {
  const mask = Uint8Array.from([0, 1, 2, 1, 1, 0]);
  const png = encodeClassMaskPng(mask, 3, 2, classes);
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, 3);
  assert.equal(meta.height, 2);
  assert.equal(meta.isPalette, true);
  const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(Array.from(data.subarray(3, 9)), [255, 0, 255, 0, 0, 255]);
  // Read the ids back from the IDAT stream directly (filter byte + 3 ids per row).
  const idatStart = png.indexOf('IDAT') + 4;
  const idatLength = png.readUInt32BE(idatStart - 8);
  const scanlines = inflateSync(png.subarray(idatStart, idatStart + idatLength));
  assert.deepEqual(Array.from(scanlines), [0, 0, 1, 2, 0, 1, 1, 0]);
});

test('overlay blends class colours with alpha and leaves background untinted', async () => {
  const frame = { data: new Uint8Array(2 * 1 * 3).fill(100), width: 2, height: 1 };
  const png = await renderOverlay(frame, Uint8Array.from([0, 1]), 2, 1, classes, {
    alpha: 0.5,
    format: 'png',
  });
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(Array.from(data), [100, 100, 100, 177, 50, 177]);
  const jpeg = await renderOverlay(frame, Uint8Array.from([0, 1]), 2, 1, classes);
  assert.equal((await sharp(jpeg).metadata()).format, 'jpeg');
});
