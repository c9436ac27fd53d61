// The remote-control surface against a real mosquitto, as an attacker and a careless operator would
// use it: locked keys, secrets, absurd values, hostile payloads, racing changes, model switches.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HealthPayloadSchema, StatusPayloadSchema } from '../../src/mqtt/payloads.js';
import {
  type DaemonProcess,
  isOnlineStatus,
  json,
  testConfig,
  useDaemonSuite,
  writeConfig,
} from '../helpers/daemon.js';
import type { Recorder } from '../helpers/mosquitto.js';

const BASE = 'edgeseg/cam-test';
let recorder: Recorder;
let dir: string;
let daemon: DaemonProcess;

const remoteFile = () => join(dir, 'state', 'remote-config.json');
const readRemote = async () => readFile(remoteFile(), 'utf8').catch(() => '');
let counter = 0;
const request = (name: string, payload: Record<string, unknown> | string) =>
  recorder.request(BASE, name, payload, `s-${++counter}`);
const setConfig = (config: Record<string, unknown>) => request('config/set', { config });

useDaemonSuite({
  setUp: async (suite) => {
    dir = suite.dir;
    recorder = await suite.recorder([`${BASE}/#`]);
    const config = await writeConfig(join(dir, 'config.yaml'), testConfig(dir, suite.broker.url));
    daemon = suite.startDaemon(config);
    await recorder.waitFor(isOnlineStatus(BASE), 60_000, true);
  },
});

test('keys that decide what runs, where data goes or whom the device trusts are locked', async () => {
  const before = await readRemote();
  const locked: Array<[Record<string, unknown>, RegExp]> = [
    [{ source: 'file:///etc/edgeseg/edgeseg.env' }, /^source: locked/],
    [{ capture: { backend: 'gstreamer' } }, /^capture: locked/],
    [{ mqtt: { url: 'mqtt://evil.example:1883' } }, /^mqtt: locked/],
    [{ mqtt: { tls: { reject_unauthorized: false } } }, /^mqtt: locked/],
    [{ engine: { runtime: 'tfjs' } }, /^engine: locked/],
    [{ state_dir: '/tmp' }, /^state_dir: locked/],
    [{ device_id: 'other' }, /^device_id: locked/],
    [{ log: { format: 'pretty' } }, /^log: locked/],
    [{ mqtt: { password: 'x' } }, /mqtt\.password: credentials and key files are not taken over MQTT/],
    [{ remote_config: { unlock: ['mqtt'] } }, /^remote_config: only the local config file/],
  ];
  for (const [config, error] of locked) {
    const response = await setConfig(config);
    assert.equal(response.status, 'error', JSON.stringify(config));
    assert.match(String(response.error), error);
    if (/locked/.test(String(response.error)))
      assert.match(
        String(response.error),
        /add it to remote_config\.unlock in .*config\.yaml/,
        'says how to unlock',
      );
  }
  assert.equal(await readRemote(), before, 'nothing was persisted');
  // log.level alone is operational, and applied live.
  const level = await setConfig({ log: { level: 'debug' } });
  assert.equal(level.status, 'ok');
  assert.deepEqual((level.data as { restartKeys: string[] }).restartKeys, []);
  assert.equal((level.data as { config: { log: { level: string } } }).config.log.level, 'debug');
  await daemon.waitForLog(/"level":20/, 20_000);
});

test('absurd values, unknown keys and hostile payloads get errors and the daemon keeps answering', async () => {
  const big = await setConfig({ publish: { mask: { width: 20000, height: 20000 } } });
  assert.match(String(big.error), /publish\.mask\.width/);
  const extra = await recorder.request(BASE, 'pause', { extra: true }, 'tx-extra');
  assert.equal(extra.status, 'error');
  assert.match(String(extra.error), /extra: unknown key/);
  // The payload that ended the process before: a deeply nested transaction.
  recorder.client.publish(
    `${BASE}/request/health`,
    `{"transaction":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    { qos: 1 },
  );
  const proto = await request('config/set', '{"transaction":"p","config":{"__proto__":{"fps":1}}}');
  assert.match(String(proto.error), /"__proto__" is not allowed/);
  const health = await request('health', {});
  assert.equal(health.status, 'ok');
  assert.equal(daemon.child.exitCode, null, daemon.stderr());
});

test('concurrent config/set on different keys: every accepted change is kept (50 pairs)', async () => {
  for (let i = 0; i < 50; i++) {
    const fps = 4 + (i % 5);
    const alpha = Math.round((0.2 + (i % 7) / 10) * 100) / 100;
    const [a, b] = await Promise.all([setConfig({ fps }), setConfig({ publish: { overlay: { alpha } } })]);
    assert.equal(a.status, 'ok');
    assert.equal(b.status, 'ok');
    const persisted = JSON.parse(await readRemote());
    assert.equal(persisted.fps, fps, `pair ${i}: fps lost`);
    assert.equal(persisted.publish.overlay.alpha, alpha, `pair ${i}: alpha lost`);
  }
  const got = await request('config/get', {});
  const config = (got.data as { config: { fps: number } }).config;
  assert.equal(config.fps, 4 + (49 % 5));
});

test('a model is switched by name inside models_dir; a broken model or a path changes nothing', async () => {
  const statusesBefore = recorder.messages.filter((m) => m.topic === `${BASE}/status`).length;
  const switched = await setConfig({ model: 'road-b' });
  assert.equal(switched.status, 'ok', JSON.stringify(switched));
  assert.match((switched.data as { config: { model: string } }).config.model, /\/models\/road-b$/);
  const statuses = recorder.messages.filter((m) => m.topic === `${BASE}/status`);
  assert.ok(statuses.length > statusesBefore, 'status is published again after a model switch');
  StatusPayloadSchema.parse(json(statuses.at(-1)!.payload));
  const before = await readRemote();
  const broken = await setConfig({ model: 'broken' });
  assert.equal(broken.status, 'error');
  assert.match(String(broken.error), /^model: .*nothing changed/);
  for (const model of ['../road-a', '/etc', 'road-a/../road-b']) {
    const response = await setConfig({ model });
    assert.match(String(response.error), /model: over MQTT give the name of a model folder/);
  }
  assert.equal(await readRemote(), before);
  // Frames still flow on the model that was running.
  await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 20_000);
});

test('health reports no problem while all is well; the payloads match their schemas', async () => {
  const health = (await request('health', {})).data as Record<string, unknown>;
  HealthPayloadSchema.parse(health);
  assert.equal(health.degraded, false, JSON.stringify(health.problems));
  assert.equal((health.source as { state: string }).state, 'ok');
  assert.ok((health.fps as number) > 0);
});
