// `edgeseg bench --json`: the daemon's path against the bare session on the same session, per
// variant; the figures a user compares are present and consistent.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

test('bench --json reports per-stage medians, daemon path vs bare session and their ratio, per thread variant', async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 64, width: 192 });
  const result = await runCli(
    [
      'bench',
      '--model',
      dir,
      '--frames',
      '8',
      '--size',
      '120x320',
      '--compare-threads',
      '--camera-fps',
      '20',
      '--camera-results',
      '4',
      '--json',
    ],
    { timeoutMs: 240_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.frameSize, '120x320');
  assert.ok(report.decode.medianMs > 0, 'the JPEG decode of a file input is its own stage');
  assert.ok(report.noisyPostprocess.medianMs > 0);
  assert.deepEqual(
    report.variants.map((variant: { label: string }) => variant.label),
    ['worker thread', 'main thread'],
  );
  for (const variant of report.variants) {
    assert.equal(variant.engine.provider, 'cpu');
    assert.equal(variant.frames, 9, 'frames are split into 3 rounds of 3');
    assert.ok(variant.pipelineFps > 0 && variant.bareFps > 0);
    assert.ok(Math.abs(variant.ratio - variant.pipelineFps / variant.bareFps) < 1e-9);
    assert.ok(variant.cpuMsPerFrame.pipeline > 0 && variant.cpuMsPerFrame.bare > 0);
    for (const stage of ['preprocess', 'inference', 'postprocess']) {
      const stats = variant.stages[stage];
      assert.ok(stats.medianMs > 0 && stats.p90Ms >= stats.medianMs, `${stage}: ${JSON.stringify(stats)}`);
    }
    const camera = variant.camera;
    assert.equal(camera.results, 4);
    // A result cannot be younger than the work it took.
    assert.ok(camera.ageMs.mean >= camera.workMeanMs - 1, JSON.stringify(camera));
  }
  assert.equal(report.ratio, report.variants[0].ratio);
  assert.match(report.tfjs.skipped, /no tfjs copy/);
});
