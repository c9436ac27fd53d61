// The linear filter mode (class scores upsampled bilinearly before the argmax) against a plain
// reference that blends every pixel, the point mode it replaces, and --ignore-class's name checks
// and renormalised fractions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Letterbox } from '../../src/engine/preprocess.js';
import { fullFrame } from '../../src/engine/preprocess.js';
import type { ClassInfo, OutputContract } from '../../src/model/manifest.js';
import { countedFractions, resolveClassNames } from '../../src/segment/class-filter.js';
import { linearFilterProblem, MaskUpsampler, type ScoreMap } from '../../src/segment/score-upsample.js';

const logits = (layout: 'NCHW' | 'NHWC'): OutputContract => ({ name: 'logits', kind: 'logits', layout });

/** A score map with its point argmax (lowest class wins ties), as the Postprocessor makes it. */
function scoreMap(
  scores: (c: number, x: number, y: number) => number,
  numClasses: number,
  width: number,
  height: number,
  layout: 'NCHW' | 'NHWC',
  letterbox: Letterbox = fullFrame(width, height),
): ScoreMap {
  const pixels = width * height;
  const raw = new Float32Array(pixels * numClasses);
  const classMask = new Uint8Array(pixels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      let best = 0;
      for (let c = 0; c < numClasses; c++) {
        const value = Math.fround(scores(c, x, y));
        raw[layout === 'NCHW' ? c * pixels + p : p * numClasses + c] = value;
        if (value > raw[layout === 'NCHW' ? best * pixels + p : p * numClasses + best]!) best = c;
      }
      classMask[p] = best;
    }
  return { classMask, width, height, rawOutput: raw, letterbox };
}

/** The definition, pixel by pixel: blend every class score at the half-pixel-centre position. */
function referenceLinear(
  map: ScoreMap,
  numClasses: number,
  layout: 'NCHW' | 'NHWC',
  width: number,
  height: number,
) {
  const raw = map.rawOutput as Float32Array;
  const box = map.letterbox;
  const pixels = map.width * map.height;
  const at = (c: number, x: number, y: number) =>
    raw[layout === 'NCHW' ? c * pixels + y * map.width + x : (y * map.width + x) * numClasses + c]!;
  const out = new Uint8Array(width * height);
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const px = clamp(
        (box.offsetX + ((x + 0.5) * box.contentWidth) / width) * (map.width / box.modelWidth) - 0.5,
        map.width - 1,
      );
      const py = clamp(
        (box.offsetY + ((y + 0.5) * box.contentHeight) / height) * (map.height / box.modelHeight) - 0.5,
        map.height - 1,
      );
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      const x1 = Math.min(x0 + 1, map.width - 1);
      const y1 = Math.min(y0 + 1, map.height - 1);
      // The implementation keeps its weights as float32.
      const fx = Math.fround(px - x0);
      const fy = Math.fround(py - y0);
      let best = 0;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < numClasses; c++) {
        const score =
          at(c, x0, y0) * (1 - fx) * (1 - fy) +
          at(c, x1, y0) * fx * (1 - fy) +
          at(c, x0, y1) * (1 - fx) * fy +
          at(c, x1, y1) * fx * fy;
        if (score > bestScore) {
          bestScore = score;
          best = c;
        }
      }
      out[y * width + x] = best;
    }
  return out;
}

test('linear: a score ramp crossing between two map pixels puts the edge where the scores cross', () => {
  // 4x1 map; class 1's score rises -3, -1, 2, 5 against class 0's 0: they cross a third of the way
  // from map pixel 1 to 2, i.e. at output x = 17.83 of 40. Point sampling puts the edge at 20.
  const ramp = [-3, -1, 2, 5];
  const map = scoreMap((c, x) => (c === 0 ? 0 : ramp[x]!), 2, 4, 1, 'NCHW');
  const upsampler = new MaskUpsampler(logits('NCHW'), 2);
  const linear = Array.from(upsampler.run(map, 40, 1, 'linear', new Uint8Array(40)));
  const point = Array.from(upsampler.run(map, 40, 1, 'point', new Uint8Array(40)));
  assert.equal(linear.indexOf(1), 18);
  assert.equal(point.indexOf(1), 20);
  assert.ok(linear.slice(18).every((id) => id === 1));
});

test('linear equals blending every pixel (the shortcut for agreeing neighbours changes nothing)', () => {
  // Smooth random fields: large uniform areas (where the shortcut applies) and curved edges.
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (const layout of ['NCHW', 'NHWC'] as const) {
    for (const numClasses of [2, 6]) {
      const phases = Array.from({ length: numClasses }, () => [random() * 6, random() * 6, 0.3 + random()]);
      const field = (c: number, x: number, y: number) => {
        const [a, b, k] = phases[c]!;
        return Math.sin(a! + x * k! * 0.7) + Math.cos(b! + y * k! * 0.9);
      };
      const boxes: Letterbox[] = [
        fullFrame(9, 6),
        { offsetX: 0, offsetY: 1, contentWidth: 9, contentHeight: 4, modelWidth: 9, modelHeight: 6 },
      ];
      for (const box of boxes) {
        const map = scoreMap(field, numClasses, 9, 6, layout, box);
        const upsampler = new MaskUpsampler(logits(layout), numClasses);
        for (const [width, height] of [
          [37, 23],
          [90, 60],
        ] as const) {
          const out = upsampler.run(map, width, height, 'linear', new Uint8Array(width * height));
          const expected = referenceLinear(map, numClasses, layout, width, height);
          const differing = out.reduce((count, id, i) => count + (id === expected[i] ? 0 : 1), 0);
          assert.equal(
            differing,
            0,
            `${layout}, ${numClasses} classes, ${width}x${height} (WxH), box ${box.offsetY}`,
          );
          // The test is only worth something if the field has edges inside the frame.
          assert.ok(new Set(out).size > 1);
        }
      }
    }
  }
});

test('linear makes diagonal edges smooth: fewer pixels differ from the true edge than with point', () => {
  // Two classes split by the line y = 0.4 x on a 12x8 map, upsampled 10 times.
  const map = scoreMap((c, x, y) => (c === 0 ? 0 : y - 0.4 * x), 2, 12, 8, 'NCHW');
  const upsampler = new MaskUpsampler(logits('NCHW'), 2);
  const errors = (mask: Uint8Array) => {
    let wrong = 0;
    for (let y = 0; y < 80; y++)
      for (let x = 0; x < 120; x++) {
        const truth = (y + 0.5) / 10 - 0.5 - 0.4 * ((x + 0.5) / 10 - 0.5) > 0 ? 1 : 0;
        if (mask[y * 120 + x] !== truth) wrong++;
      }
    return wrong;
  };
  const linear = errors(upsampler.run(map, 120, 80, 'linear', new Uint8Array(9600)));
  const point = errors(upsampler.run(map, 120, 80, 'point', new Uint8Array(9600)));
  assert.ok(linear < point / 5, `linear ${linear} vs point ${point} misplaced pixels`);
});

test('at the map size without letterbox both modes return the model mask itself; class-id models cannot go linear', () => {
  const map = scoreMap((c, x) => (c === x % 2 ? 1 : 0), 2, 4, 2, 'NCHW');
  const upsampler = new MaskUpsampler(logits('NCHW'), 2);
  assert.equal(upsampler.run(map, 4, 2, 'linear', new Uint8Array(8)), map.classMask);
  assert.match(linearFilterProblem({ name: 'ids', kind: 'classIds', layout: 'NCHW' }) ?? '', /class ids/);
  assert.equal(linearFilterProblem(logits('NHWC')), undefined);
});

const classes: ClassInfo[] = ['sky', 'road', 'car'].map((name, id) => ({
  id,
  name,
  color: [id * 80, 0, 0],
  ignore: false,
}));

test('--ignore-class names are checked against the model, naming the bad one and listing the valid ones', () => {
  assert.deepEqual(resolveClassNames(['car', 'sky', 'car'], classes, '--ignore-class'), [2, 0]);
  assert.throws(
    () => resolveClassNames(['road', 'cars'], classes, '--ignore-class'),
    (error: Error) =>
      /^--ignore-class: no class named "cars" in this model; its classes are: sky, road, car$/.test(
        error.message,
      ),
  );
});

test('ignored classes are left out of the fractions and the rest sum to 1', () => {
  const out = new Float64Array(3);
  assert.deepEqual(Array.from(countedFractions([0.5, 0.3, 0.2], [0], out)), [0, 0.6, 0.4]);
  assert.deepEqual(Array.from(countedFractions([0.5, 0.3, 0.2], [], out)), [0.5, 0.3, 0.2]);
  // Nothing but ignored pixels: nothing counted, not a division by zero.
  assert.deepEqual(Array.from(countedFractions([1, 0, 0], [0], out)), [0, 0, 0]);
});
