// deploy/mosquitto/edgeseg.acl against a real mosquitto with a password file: the device publishes
// only under its own base topic, an operator may command it, a viewer or another device may not
// (their config/set never reaches the daemon and nothing changes), anonymous clients are refused.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { repoRoot } from '../helpers/cli.js';
import { isOnlineStatus, json, testConfig, useDaemonSuite, writeConfig } from '../helpers/daemon.js';

const DEVICE = 'cam-acl';
const BASE = `edgeseg/${DEVICE}`;
const ACCOUNTS = {
  [DEVICE]: 'device-pw-1',
  'cam-other': 'other-pw-2',
  operator: 'operator-pw-3',
  viewer: 'viewer-pw-4',
};
const login = (username: keyof typeof ACCOUNTS) => ({ username, password: ACCOUNTS[username] });

const suite = useDaemonSuite({
  // The accounts in a password file; the shipped ACL as it is.
  broker: async (dir) => {
    const passwordFile = join(dir, 'edgeseg.passwd');
    await writeFile(passwordFile, '');
    for (const [user, password] of Object.entries(ACCOUNTS))
      execFileSync('mosquitto_passwd', ['-b', passwordFile, user, password]);
    return { auth: { passwordFile, aclFile: join(repoRoot, 'deploy/mosquitto/edgeseg.acl') } };
  },
  setUp: async ({ dir, broker, startDaemon }) => {
    const config = testConfig(dir, broker.url, { device_id: DEVICE });
    startDaemon(await writeConfig(join(dir, 'config.yaml'), config), {
      env: { EDGESEG_MQTT_USERNAME: DEVICE, EDGESEG_MQTT_PASSWORD: ACCOUNTS[DEVICE] },
    });
  },
});

test('with the shipped ACL only an operator can change the device', { timeout: 120_000 }, async () => {
  const viewer = await suite.recorder([`${BASE}/#`], login('viewer'));
  const operator = await suite.recorder([`${BASE}/#`], login('operator'));
  const other = await suite.recorder([`${BASE}/#`], login('cam-other'));
  try {
    await viewer.waitFor(isOnlineStatus(BASE), 60_000, true);
    await viewer.waitFor((m) => m.topic === `${BASE}/stats`);

    // A viewer and another device send requests: the broker drops them, nothing answers, nothing changes.
    const published = (client: mqtt.MqttClient, topic: string, payload: string) =>
      new Promise<void>((resolve) => client.publish(topic, payload, { qos: 1 }, () => resolve()));
    await published(
      viewer.client,
      `${BASE}/request/config/set`,
      JSON.stringify({ transaction: 'v', config: { fps: 2 } }),
    );
    await published(other.client, `${BASE}/request/pause`, JSON.stringify({ transaction: 'o' }));
    // config/set is applied in arrival order: this answer comes after the ones above, had they arrived.
    const probe = await operator.request(
      BASE,
      'config/set',
      { config: { publish: { overlay: { alpha: 0.41 } } } },
      'op-probe',
    );
    assert.equal((probe.data as { config: { fps: number } }).config.fps, 8, 'fps unchanged');
    const health = await operator.request(BASE, 'health', {}, 'op-health');
    assert.equal((health.data as { paused: boolean }).paused, false, 'not paused');
    assert.equal(
      operator.messages.some(
        (m) =>
          m.topic.startsWith(`${BASE}/response/`) && ['v', 'o'].includes(String(json(m.payload).transaction)),
      ),
      false,
      'the daemon never saw the viewer or the other device',
    );

    // Another device cannot publish under this device's topics either.
    other.client.publish(`${BASE}/status`, JSON.stringify({ state: 'offline', instanceId: 'forged' }), {
      qos: 1,
      retain: true,
    });
    const forged = await operator
      .waitFor((m) => m.topic === `${BASE}/status` && json(m.payload).instanceId === 'forged', 2000)
      .catch(() => undefined);
    assert.equal(forged, undefined, 'a forged status was delivered');

    // The operator may.
    const set = await operator.request(BASE, 'config/set', { config: { fps: 3 } }, 'op-set');
    assert.equal(set.status, 'ok', JSON.stringify(set));
  } finally {
    viewer.end();
    operator.end();
    other.end();
  }
});

test('anonymous clients and wrong passwords are refused', async () => {
  for (const options of [{}, { username: 'operator', password: 'wrong' }]) {
    const client = mqtt.connect(suite.broker.url, { reconnectPeriod: 0, connectTimeout: 3000, ...options });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (error) => resolve(error.message));
    });
    client.end(true);
    assert.match(outcome, /Not authorized|Bad username or password/, JSON.stringify(options));
  }
});
