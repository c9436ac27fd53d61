// Bring-your-own-model contracts end to end on real onnxruntime sessions: whatever the layout,
// channel order, normalisation and output kind, a red stripe is segmented as "red".

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEngine } from '../../src/engine/create.js';
import { Segmenter } from '../../src/segment/segmenter.js';
import { type FixtureContract, writeFixtureModelDir } from '../engine/fixtures.js';
import { makeTempDir } from '../helpers/tmp.js';

/** A frame of three vertical stripes: red, green, blue. */
function stripes(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data[(y * width + x) * 3 + Math.min(2, Math.floor((3 * x) / width))] = 255;
  return { data, width, height, captureTimeMs: Date.now() };
}

const imagenet = {
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406] as [number, number, number],
  std: [0.229, 0.224, 0.225] as [number, number, number],
};

const contracts: Array<[string, FixtureContract]> = [
  ['NCHW RGB logits', { height: 12, width: 24 }],
  [
    'NHWC BGR probabilities, ImageNet normalisation',
    { height: 12, width: 24, layout: 'NHWC', channelOrder: 'BGR', output: 'probabilities', ...imagenet },
  ],
  [
    'NCHW BGR int64 class ids, caffe means',
    {
      height: 12,
      width: 24,
      channelOrder: 'BGR',
      output: 'classIds',
      mean: [103.9, 116.8, 123.7],
      inputName: 'input.1',
      outputName: 'argmax',
    },
  ],
  [
    'NHWC input, NCHW logits out, symbolic dims',
    { height: 12, width: 24, layout: 'NHWC', outputLayout: 'NCHW', dynamicSpatial: true },
  ],
  ['letterboxed square input', { height: 24, width: 24, resize: 'letterbox' }],
];

for (const [label, contract] of contracts) {
  test(`bring-your-own model: ${label}`, async () => {
    const dir = join(await makeTempDir(), 'model');
    await writeFixtureModelDir(dir, contract);
    const engine = await createEngine(dir, { runtime: 'auto', executionProviders: ['cpu'] });
    const segmenter = new Segmenter(engine);
    const frame = stripes(90, 30);
    const result = await segmenter.segment(frame);
    assert.equal(result.width, contract.width);
    assert.equal(result.height, contract.height);
    const names = engine.manifest.classes.map((cls) => cls.name);
    const { offsetX, offsetY, contentWidth, contentHeight } = result.letterbox;
    const y = offsetY + Math.floor(contentHeight / 2);
    const at = (fraction: number) =>
      names[result.classMask[y * result.width + offsetX + Math.floor(fraction * contentWidth)]!];
    assert.deepEqual([at(0.1), at(0.5), at(0.9)], ['red', 'green', 'blue']);
    const total = result.classFractions.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-9);
    assert.ok(result.timings.inferenceMs > 0);
    await engine.stop();
  });
}

test('the pipelined stream gives the same masks, in order, as frame-by-frame segmentation', async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 12, width: 24, output: 'probabilities' });
  const engine = await createEngine(dir, { runtime: 'onnxruntime', executionProviders: ['cpu'] });
  const segmenter = new Segmenter(engine);
  const frames = [stripes(90, 30), stripes(30, 30), stripes(60, 12), stripes(24, 12)].map((frame, index) => ({
    ...frame,
    index,
  }));
  const single: number[][] = [];
  for (const frame of frames) single.push(Array.from((await segmenter.segment(frame)).classMask));
  const streamed: Array<{ index: number; mask: number[] }> = [];
  async function* source() {
    for (const frame of frames) yield frame;
  }
  const count = await segmenter.segmentStream(source(), async (result, frame) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    streamed.push({ index: frame.index, mask: Array.from(result.classMask) });
  });
  assert.equal(count, 4);
  assert.deepEqual(
    streamed.map((entry) => entry.index),
    [0, 1, 2, 3],
  );
  assert.deepEqual(
    streamed.map((entry) => entry.mask),
    single,
  );
  await engine.stop();
});

test('a failing consumer stops the stream and closes its source (no decoder left running)', async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 12, width: 24 });
  const engine = await createEngine(dir, { runtime: 'onnxruntime', executionProviders: ['cpu'] });
  let closed = false;
  async function* source() {
    try {
      for (let i = 0; i < 100; i++) yield stripes(48, 24);
    } finally {
      closed = true;
    }
  }
  let seen = 0;
  await assert.rejects(
    new Segmenter(engine).segmentStream(source(), () => {
      seen++;
      if (seen === 2) throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.equal(seen, 2);
  assert.equal(closed, true);
  await engine.stop();
});
