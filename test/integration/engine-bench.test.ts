// `edgeseg bench --json`: the figures a user compares (end-to-end vs the bare session) are present and consistent.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

test('bench --json reports per-stage median/p90, endToEndFps, bareSessionFps and their ratio', async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 64, width: 192 });
  const result = await runCli(['bench', '--model', dir, '--frames', '8', '--size', '120x320', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.ok(report.endToEndFps > 0);
  assert.ok(report.bareSessionFps > 0);
  assert.ok(Math.abs(report.ratio - report.endToEndFps / report.bareSessionFps) < 1e-9);
  assert.equal(report.frameSize, '120x320');
  for (const stage of ['decode', 'preprocess', 'inference', 'postprocess']) {
    const stats = report.onnxruntime.stages[stage];
    assert.ok(stats.medianMs > 0 && stats.p90Ms >= stats.medianMs, `${stage}: ${JSON.stringify(stats)}`);
  }
  assert.equal(report.onnxruntime.engine.provider, 'cpu');
  assert.match(report.tfjs.skipped, /no tfjs copy/);
});
