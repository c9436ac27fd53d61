// Requests published with retain must not be executed: the broker replays a retained message at
// every subscribe, so a retained `pause` would pause the device at every start and every reconnect.
// Real mosquitto (persistent, so the retained requests survive its restart) and the real daemon.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import {
  type DaemonProcess,
  isOnlineStatus,
  json,
  testConfig,
  useDaemonSuite,
  writeConfig,
} from '../helpers/daemon.js';
import { type Recorder, retainedMessages } from '../helpers/mosquitto.js';

const BASE = 'edgeseg/cam-test';
// Persistent, so that the retained requests survive the broker's restart.
const suite = useDaemonSuite({ broker: { persistent: true } });
let recorder: Recorder | undefined;
let daemon: DaemonProcess | undefined;

async function publishRetained(topic: string, payload: string): Promise<void> {
  const client = await mqtt.connectAsync(suite.broker.url, { reconnectPeriod: 0 });
  await client.publishAsync(topic, payload, { qos: 1, retain: true });
  await client.endAsync();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const responses = () => recorder!.messages.filter((m) => m.topic.startsWith(`${BASE}/response/`));
const lastHealth = () =>
  json([...recorder!.messages].reverse().find((m) => m.topic === `${BASE}/health`)!.payload);

test('retained pause and config/set are executed neither at start nor after a broker restart', async () => {
  await publishRetained(`${BASE}/request/pause`, '{"transaction":"retained-pause"}');
  await publishRetained(
    `${BASE}/request/config/set`,
    JSON.stringify({ transaction: 'retained-set', config: { fps: 2 } }),
  );
  recorder = await suite.recorder([`${BASE}/#`]);
  const config = await writeConfig(join(suite.dir, 'config.yaml'), testConfig(suite.dir, suite.broker.url));
  daemon = await suite.startDaemonOnline(config, recorder, BASE);
  // The retained requests reach the daemon right after its subscribe; give them time to act.
  await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 20_000);
  await sleep(1500);
  assert.deepEqual(
    responses().map((m) => m.topic),
    [],
    'no retained request was answered at start',
  );
  assert.equal(lastHealth().paused, false);
  await daemon.waitForLog(/retained request ignored/);
  assert.match(
    daemon.stderr(),
    /mosquitto_pub -r -n -t 'edgeseg\/cam-test\/request\//,
    'says how to clear it',
  );

  // A broker restart: the daemon reconnects and subscribes again; the broker replays both requests.
  const onlineCount = recorder.messages.filter(isOnlineStatus(BASE)).length;
  await suite.broker.kill('SIGTERM');
  await suite.broker.resume();
  const kept = await retainedMessages(suite.broker.url, `${BASE}/request/#`);
  assert.equal(kept.size, 2, 'the broker kept both retained requests across its restart');
  await recorder.waitFor(
    (m) => isOnlineStatus(BASE)(m) && recorder!.messages.filter(isOnlineStatus(BASE)).length > onlineCount,
    30_000,
    true,
  );
  await sleep(1500);
  const stats = recorder.messages.filter((m) => m.topic === `${BASE}/stats`);
  assert.ok(Date.now() - stats[stats.length - 1]!.receivedAt < 1500, 'frames still flow after the reconnect');
  assert.deepEqual(
    responses().map((m) => m.topic),
    [],
    'no retained request was answered after the reconnect',
  );
  assert.equal(lastHealth().paused, false);

  // The same request published live (no retain) is executed: the filter is on retain, not on the topic.
  const live = await recorder.request(BASE, 'pause', {}, 'live-pause');
  assert.equal(live.status, 'ok');
  assert.deepEqual(live.data, { paused: true });
});
