// What `bench --compare` concludes from its timings: the faster model named the right way round,
// and no winner when the per-round ratios and the whole-run medians disagree.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompareReport } from '../../src/bench/compare.js';
import { compareVerdict } from '../../src/cli/bench-format.js';

function report(aMs: number, bMs: number, rounds: Array<[number, number]>): CompareReport {
  const side = (frameMedianMs: number) => ({ frameMedianMs }) as unknown as CompareReport['a'];
  const ratios = rounds.map(([a, b]) => a / b).sort((x, y) => x - y);
  return {
    frameSize: '96x288',
    a: side(aMs),
    b: side(bMs),
    rounds: rounds.map(([a, b]) => ({ aFrameMedianMs: a, bFrameMedianMs: b, speedup: a / b })),
    speedup: ratios[Math.floor(ratios.length / 2)]!,
  };
}

test('bench --compare: B faster, B slower, and the issue-25 case where rounds and run disagree', () => {
  assert.match(
    compareVerdict(
      report(10, 5, [
        [10, 5],
        [10, 5],
        [10, 5],
      ]),
    ),
    /^B is 2\.00x as fast as A/,
  );
  assert.match(
    compareVerdict(
      report(5, 10, [
        [5, 10],
        [5, 10],
        [5, 10],
      ]),
    ),
    /^B is 2\.00x slower than A/,
  );
  // Overall medians A 8.11 ms, B 9.34 ms (B slower), per-round median 1.11 (B faster).
  const mixed = compareVerdict(
    report(8.11, 9.34, [
      [10, 9],
      [11, 9.9],
      [5, 9.5],
    ]),
  );
  assert.match(mixed, /^inconclusive: .*per-round A\/B ratios 1\.11, A\/B over all frames 0\.87/);
});
