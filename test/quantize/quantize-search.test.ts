// Choosing by measured accuracy, with a known accuracy surface standing in for the evaluations
// (each layer's effect in float is fixed, so the right choice is known): the best method wins,
// layers go back to float costliest first and only until the drop is within bounds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CalibrationMethod } from '../../src/quantize/ranges.js';
import { type Candidate, searchQuantization } from '../../src/quantize/search.js';

const LAYERS = ['conv1', 'conv2', 'fc6', 'score'];

/** Held-out mIoU of a candidate: per-method base plus what each layer in float gains. */
function surface(base: Record<CalibrationMethod, number>, gains: Record<string, number>) {
  const measured: Candidate[] = [];
  const measure = async (candidate: Candidate) => {
    measured.push(candidate);
    let value = base[candidate.method];
    for (const layer of candidate.floatLayers) value += gains[layer] ?? 0;
    return value;
  };
  return { measure, measured };
}

const search = (
  measure: (c: Candidate) => Promise<number>,
  extra: Partial<Parameters<typeof searchQuantization>[0]> = {},
) =>
  searchQuantization({
    methods: ['minmax', 'percentile', 'entropy'],
    layers: LAYERS,
    floatLayers: 'auto',
    fp32MIoU: 0.85,
    maxDrop: 0.01,
    sensitivity: false,
    measure,
    ...extra,
  });

test('within the allowed drop: the best method wins and every layer stays int8', async () => {
  const { measure, measured } = surface({ minmax: 0.845, percentile: 0.846, entropy: 0.83 }, { fc6: 0.01 });
  const result = await search(measure);
  assert.equal(result.method, 'percentile');
  assert.equal(result.mIoU, 0.846);
  assert.deepEqual(result.floatLayers, []);
  assert.equal(result.sensitivity, undefined, 'no per-layer evaluations unless needed or asked');
  assert.equal(measured.length, 3);
});

test('over the allowed drop: the costliest layers go back to float, one at a time, until within bounds', async () => {
  const { measure } = surface(
    { minmax: 0.8, percentile: 0.79, entropy: 0.78 },
    { conv1: -0.001, conv2: 0.015, fc6: 0.03, score: 0.002 },
  );
  const result = await search(measure);
  assert.equal(result.method, 'minmax');
  // fc6 alone: 0.83 (drop 0.02); with conv2: 0.845 (drop 0.005): stop there, score stays int8.
  assert.deepEqual(
    result.floatLayers.map((f) => f.layer),
    ['fc6', 'conv2'],
  );
  assert.match(result.floatLayers[0]!.reason, /80\.00 -> 83\.00 with this layer alone in float/);
  assert.ok(Math.abs(result.mIoU - 0.845) < 1e-9);
  assert.deepEqual(
    result.sensitivity?.map((s) => s.layer),
    LAYERS,
  );
});

test('a fixed --float-layers list is kept as given; --sensitivity measures the others anyway', async () => {
  const { measure, measured } = surface({ minmax: 0.8, percentile: 0.8, entropy: 0.8 }, { fc6: 0.03 });
  const result = await search(measure, { floatLayers: ['score'], sensitivity: true, methods: ['minmax'] });
  assert.deepEqual(result.floatLayers, [{ layer: 'score', reason: 'kept in float by --float-layers' }]);
  assert.ok(measured.every((candidate) => candidate.floatLayers.has('score')));
  assert.deepEqual(
    result.sensitivity?.map((s) => s.layer),
    ['conv1', 'conv2', 'fc6'],
  );
  assert.equal(result.mIoU, 0.8, 'nothing else goes back to float when the list is fixed');
});
