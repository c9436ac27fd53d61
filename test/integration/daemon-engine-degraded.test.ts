// A model that onnxruntime cannot load runs on its tfjs copy (engine.runtime auto): the device
// works, slower, and must say so. status, health and /metrics report it as degraded, with the
// reason. Real daemon, real mosquitto, a model.onnx whose sha256 matches its manifest.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HealthPayloadSchema, StatusPayloadSchema } from '../../src/mqtt/payloads.js';
import { json, testConfig, useDaemonSuite, writeConfig } from '../helpers/daemon.js';
import { metricValue } from '../helpers/http.js';
import type { Recorder } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

const BASE = 'edgeseg/cam-tfjs';
let recorder: Recorder;
let port: number;

useDaemonSuite({
  setUp: async (suite) => {
    // Not an ONNX model, but the manifest's sha256 is the file's: the integrity check passes.
    const model = join(suite.dir, 'models', 'road-a');
    await writeFile(join(model, 'model.onnx'), 'not an onnx model');
    const manifestPath = join(model, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.files.onnxSha256 = createHash('sha256').update('not an onnx model').digest('hex');
    await writeFile(manifestPath, JSON.stringify(manifest));
    port = await freePort();
    recorder = await suite.recorder([`${BASE}/status`, `${BASE}/health`, `${BASE}/stats`]);
    const config = await writeConfig(
      join(suite.dir, 'config.yaml'),
      testConfig(suite.dir, suite.broker.url, { device_id: 'cam-tfjs', http: { enabled: true, port } }),
    );
    await suite.startDaemonOnline(config, recorder, BASE);
  },
});

test('a model on its tfjs fallback is degraded, with the reason, in status, health and /metrics', {
  timeout: 120_000,
}, async () => {
  await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 60_000);
  const status = StatusPayloadSchema.parse(
    json([...recorder.messages].reverse().find((m) => m.topic === `${BASE}/status`)!.payload),
  );
  assert.equal(status.degraded, true, JSON.stringify(status));
  assert.match(status.problems.join('\n'), /model runs on its tfjs copy \(slower\): .*onnxruntime/);
  const health = HealthPayloadSchema.parse(
    json((await recorder.waitFor((m) => m.topic === `${BASE}/health`, 10_000)).payload),
  );
  assert.equal(health.degraded, true);
  assert.match(health.problems.join('\n'), /tfjs copy/);
  assert.equal(await metricValue(`http://127.0.0.1:${port}`, 'edgeseg_degraded'), 1);
});
