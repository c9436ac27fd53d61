// Honest state and secrets: a camera that is gone keeps being retried while status and health say
// the device is degraded and why (fps 0); credentials in the source URL and the MQTT password never
// reach a topic, a response or the log.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { HealthPayloadSchema, StatusPayloadSchema } from '../../src/mqtt/payloads.js';
import { type DaemonProcess, json, testConfig, useDaemonSuite, writeConfig } from '../helpers/daemon.js';
import type { Recorder } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

const BASE = 'edgeseg/cam-gone';
const CAMERA_PASSWORD = 'Camp4ss-XYZ';
const MQTT_PASSWORD = 'Mqttp4ss-QRS';
let recorder: Recorder;
let daemon: DaemonProcess;

useDaemonSuite({
  setUp: async (suite) => {
    const { dir, broker } = suite;
    recorder = await suite.recorder([`${BASE}/#`]);
    // Nothing listens on this port: the camera is "gone", ffmpeg fails and is retried.
    const deadPort = await freePort();
    const config = testConfig(dir, broker.url, {
      device_id: 'cam-gone',
      source: `rtsp://admin:${CAMERA_PASSWORD}@127.0.0.1:${deadPort}/live`,
      capture: {
        width: 192,
        height: 64,
        backoff_initial_ms: 200,
        backoff_max_ms: 1000,
        stall_timeout_ms: 2000,
      },
      log: { format: 'json', level: 'debug' },
    });
    const path = await writeConfig(join(dir, 'config.yaml'), config);
    daemon = suite.startDaemon(path, {
      env: { EDGESEG_MQTT_USERNAME: 'cam', EDGESEG_MQTT_PASSWORD: MQTT_PASSWORD },
    });
  },
});

test('a camera that is gone: status says degraded with the reason and the next retry; health fps is 0', async () => {
  const down = await recorder.waitFor((m) => {
    if (m.topic !== `${BASE}/status`) return false;
    const status = json(m.payload);
    return status.state === 'online' && (status.source as { state?: string } | undefined)?.state === 'down';
  }, 60_000);
  const status = StatusPayloadSchema.parse(json(down.payload));
  assert.equal(status.degraded, true);
  assert.match(status.problems.join('\n'), /source down: ffmpeg exited/);
  assert.ok(status.source?.retryAt, 'the next retry is announced');
  const health = HealthPayloadSchema.parse(
    (await recorder.request(BASE, 'health', {}, 'h1')).data as Record<string, unknown>,
  );
  assert.equal(health.fps, 0);
  assert.equal(health.source.state, 'down');
  assert.ok(health.sourceRestarts >= 1);
  // Still retrying (cameras come back): the restart count goes on rising (a retry at most every
  // backoff_max_ms; asked until it has risen, for at most 10 s).
  let later = health;
  for (let asked = 2; later.sourceRestarts <= health.sourceRestarts && asked <= 40; asked++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    later = HealthPayloadSchema.parse(
      (await recorder.request(BASE, 'health', {}, `h${asked}`)).data as Record<string, unknown>,
    );
  }
  assert.ok(later.sourceRestarts > health.sourceRestarts);
});

test('credentials never reach a topic, a response or the log', async () => {
  await recorder.request(BASE, 'config/get', {}, 'g1');
  await recorder.request(BASE, 'config/set', { config: { mqtt: { password: 'new' } } }, 'g2');
  const everything = [...recorder.messages.map((m) => m.payload.toString()), daemon.stderr()].join('\n');
  assert.ok(everything.includes('rtsp://***@127.0.0.1'), 'the source is shown without its credentials');
  for (const secret of [CAMERA_PASSWORD, MQTT_PASSWORD]) assert.ok(!everything.includes(secret), secret);
  const config = recorder.messages.find((m) => m.topic === `${BASE}/config`);
  assert.ok(config, 'the retained config topic was published');
  assert.doesNotMatch(config.payload.toString(), /admin/);
});
