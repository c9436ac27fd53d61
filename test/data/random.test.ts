// The seeded streams are part of what a run records: a synthetic scene, a shuffle or a weight
// initialisation must replay bit for bit (resume, the demo model's held-out scenes). These values
// were produced before the data sources' PRNG was folded into model/random's mulberry32.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mixSeed, Random, shuffledIndices } from '../../src/data/random.js';
import { mulberry32 } from '../../src/model/random.js';

test('mulberry32, Random, mixSeed and shuffles replay their recorded values', () => {
  const weights = mulberry32(1);
  assert.deepEqual([weights(), weights()], [0.6270739405881613, 0.002735721180215478]);
  const scenes = new Random(0);
  assert.deepEqual(
    [scenes.next(), scenes.next(), scenes.next()],
    [0.9555392500478774, 0.668275538366288, 0.22374284593388438],
  );
  assert.equal(mixSeed(1, 2, 3), 654227924);
  assert.deepEqual(Array.from(shuffledIndices(10, 7)), [1, 3, 6, 7, 4, 0, 2, 5, 8, 9]);
});
