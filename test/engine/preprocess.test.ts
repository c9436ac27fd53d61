// Preprocessing numerics against a direct per-pixel computation, for every layout/order/resize mode.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { letterboxFor, Preprocessor } from '../../src/engine/preprocess.js';
import type { InputContract } from '../../src/model/manifest.js';

function contract(overrides: Partial<InputContract>): InputContract {
  return {
    name: 'image',
    layout: 'NCHW',
    height: 3,
    width: 4,
    channelOrder: 'RGB',
    dtype: 'float32',
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    resize: 'stretch',
    ...overrides,
  };
}

function randomFrame(width: number, height: number, seed: number) {
  const data = new Uint8Array(width * height * 3);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { data, width, height };
}

/** Textbook bilinear sample with half-pixel centres, edge-clamped. */
function sample(frame: { data: Uint8Array; width: number; height: number }, x: number, y: number, c: number) {
  const px = Math.min(frame.width - 1, Math.max(0, x));
  const py = Math.min(frame.height - 1, Math.max(0, y));
  const x0 = Math.floor(px);
  const y0 = Math.floor(py);
  const x1 = Math.min(x0 + 1, frame.width - 1);
  const y1 = Math.min(y0 + 1, frame.height - 1);
  const at = (xx: number, yy: number) => frame.data[(yy * frame.width + xx) * 3 + c]!;
  const fx = px - x0;
  const fy = py - y0;
  return (
    (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) + (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy
  );
}

function expected(input: InputContract, frame: ReturnType<typeof randomFrame>): Float32Array {
  const out = new Float32Array(input.width * input.height * 3);
  const box = letterboxFor(input.resize, frame.width, frame.height, input.width, input.height);
  for (let y = 0; y < input.height; y++) {
    for (let x = 0; x < input.width; x++) {
      for (let k = 0; k < 3; k++) {
        const sourceChannel = input.channelOrder === 'RGB' ? k : 2 - k;
        const inside =
          x >= box.offsetX &&
          x < box.offsetX + box.contentWidth &&
          y >= box.offsetY &&
          y < box.offsetY + box.contentHeight;
        const pixel = inside
          ? sample(
              frame,
              (x - box.offsetX + 0.5) * (frame.width / box.contentWidth) - 0.5,
              (y - box.offsetY + 0.5) * (frame.height / box.contentHeight) - 0.5,
              sourceChannel,
            )
          : 0;
        const value = (pixel * input.scale - input.mean[k]!) / input.std[k]!;
        const index =
          input.layout === 'NCHW'
            ? k * input.width * input.height + y * input.width + x
            : (y * input.width + x) * 3 + k;
        out[index] = value;
      }
    }
  }
  return out;
}

function assertClose(actual: Float32Array, wanted: Float32Array, label: string) {
  assert.equal(actual.length, wanted.length);
  for (let i = 0; i < wanted.length; i++) {
    assert.ok(Math.abs(actual[i]! - wanted[i]!) < 1e-3, `${label}: index ${i}: ${actual[i]} vs ${wanted[i]}`);
  }
}

const imagenet = {
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406] as [number, number, number],
  std: [0.229, 0.224, 0.225] as [number, number, number],
};

test('bilinear resize, channel order, layout and normalisation match a direct computation', () => {
  const frame = randomFrame(13, 7, 1);
  for (const layout of ['NCHW', 'NHWC'] as const) {
    for (const channelOrder of ['RGB', 'BGR'] as const) {
      for (const size of [
        { width: 5, height: 4 },
        { width: 20, height: 9 },
      ]) {
        const input = contract({ layout, channelOrder, ...size, ...imagenet });
        const pre = new Preprocessor(input);
        assertClose(
          pre.run(frame),
          expected(input, frame),
          `${layout} ${channelOrder} ${size.width}x${size.height}`,
        );
      }
    }
  }
});

test('a frame already at model size is copied exactly (caffe-style BGR mean subtraction)', () => {
  const frame = randomFrame(6, 4, 2);
  const input = contract({
    width: 6,
    height: 4,
    channelOrder: 'BGR',
    layout: 'NHWC',
    mean: [103.939, 116.779, 123.68],
  });
  const buffer = new Preprocessor(input).run(frame);
  assert.ok(Math.abs(buffer[0]! - (frame.data[2]! - 103.939)) < 1e-3);
  assertClose(buffer, expected(input, frame), 'exact');
});

test('letterbox keeps the aspect ratio and pads with black', () => {
  const frame = randomFrame(20, 10, 3);
  const input = contract({ width: 8, height: 8, resize: 'letterbox', mean: [10, 20, 30] });
  const pre = new Preprocessor(input);
  const buffer = pre.run(frame);
  assert.deepEqual(pre.letterbox, {
    offsetX: 0,
    offsetY: 2,
    contentWidth: 8,
    contentHeight: 4,
    modelWidth: 8,
    modelHeight: 8,
  });
  assertClose(buffer, expected(input, frame), 'letterbox');
  assert.equal(buffer[0], -10); // top bar, red channel: black pixel minus mean
});

test('the model input buffer is reused across frames and frame sizes', () => {
  const pre = new Preprocessor(contract({ width: 8, height: 8, resize: 'letterbox' }));
  const first = pre.run(randomFrame(20, 10, 4));
  const second = pre.run(randomFrame(10, 20, 5));
  assert.equal(first, second);
  assert.equal(pre.letterbox.offsetX, 2);
  // The previous frame's rows must not leak into the new side bars.
  assertClose(
    second,
    expected(contract({ width: 8, height: 8, resize: 'letterbox' }), randomFrame(10, 20, 5)),
    'resized',
  );
});
