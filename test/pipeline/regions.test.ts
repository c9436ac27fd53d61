import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rasterizeRegions, regionFractions } from '../../src/pipeline/regions.js';

test('region fractions on a known mask: left half, and a triangle over the lane ahead', () => {
  const width = 8;
  const height = 4;
  // Left 4 columns class 1 (road), right 4 class 2; bottom row all class 0.
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) mask[y * width + x] = y === 3 ? 0 : x < 4 ? 1 : 2;
  const [left, bottomRight] = rasterizeRegions(
    [
      {
        name: 'left',
        polygon: [
          [0, 0],
          [0.5, 0],
          [0.5, 1],
          [0, 1],
        ],
      },
      {
        name: 'bottom_right',
        polygon: [
          [0.5, 0.5],
          [1, 0.5],
          [1, 1],
          [0.5, 1],
        ],
      },
    ],
    width,
    height,
  );
  assert.equal(left!.pixels.length, 16);
  const counts = new Float64Array(3);
  assert.deepEqual(Array.from(regionFractions(mask, left!, 3, counts)), [0.25, 0.75, 0]);
  assert.deepEqual(Array.from(regionFractions(mask, bottomRight!, 3, counts)), [0.5, 0, 0.5]);
});

test('an empty region reports zero fractions instead of NaN', () => {
  const [tiny] = rasterizeRegions(
    [
      {
        name: 'sliver',
        polygon: [
          [0, 0],
          [0.01, 0],
          [0.01, 0.01],
        ],
      },
    ],
    4,
    4,
  );
  assert.deepEqual(Array.from(regionFractions(new Uint8Array(16), tiny!, 2, new Float64Array(2))), [0, 0]);
});
