// Home Assistant discovery and the info topic against a real mosquitto: what a Home Assistant (or
// any client) subscribing finds retained, checked against the documented discovery schema, the
// value templates rendered on the real status and summary messages, and clean removal when a
// region or class disappears, when discovery is turned off, and across a restart.

import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { InfoPayloadSchema, SummaryPayloadSchema } from '../../src/mqtt/payloads.js';
import {
  type DaemonProcess,
  json,
  testConfig,
  useDaemonSuite,
  verticalBand,
  writeConfig,
} from '../helpers/daemon.js';
import { checkDiscovery, renderValueTemplate } from '../helpers/homeassistant.js';
import { type Recorder, retainedMessages } from '../helpers/mosquitto.js';

const BASE = 'edgeseg/cam-ha';
const NODE = 'homeassistant/+/edgeseg_cam-ha/+/config';
const STALE = 'homeassistant/sensor/edgeseg_cam-ha/class_from_an_old_model/config';
let configPath: string;
let recorder: Recorder;
let daemon: DaemonProcess;

const suite = useDaemonSuite({
  setUp: async ({ dir, broker }) => {
    configPath = await writeConfig(
      join(dir, 'config.yaml'),
      testConfig(dir, broker.url, {
        device_id: 'cam-ha',
        mqtt: { url: broker.url },
        homeassistant: { enabled: true, state_interval_ms: 1000 },
        regions: [verticalBand('left-half', 0, 0.5), verticalBand('right-half', 0.5, 1)],
      }),
    );
    await publishRetained(STALE, '{"name":"left by an earlier run"}');
    recorder = await suite.recorder([`${BASE}/#`]);
    daemon = await startOnline();
  },
});

const discovery = () => retainedMessages(suite.broker.url, NODE);

async function publishRetained(topic: string, payload: string): Promise<void> {
  const client = await mqtt.connectAsync(suite.broker.url);
  await client.publishAsync(topic, payload, { retain: true, qos: 1 });
  await client.endAsync();
}

const startOnline = () => suite.startDaemonOnline(configPath, recorder, BASE);

async function configSet(config: Record<string, unknown>, transaction: string): Promise<void> {
  const response = await recorder.request(BASE, 'config/set', { config }, transaction);
  assert.equal(response.status, 'ok', JSON.stringify(response));
}

/** Polls the retained discovery topics until `done` holds (removal is asynchronous). */
async function discoveryUntil(
  done: (topics: Map<string, Buffer>) => boolean,
  what: string,
): Promise<Map<string, Buffer>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const retained = await discovery();
    if (done(retained)) return retained;
    if (Date.now() > deadline) throw new Error(`${what}; retained: ${[...retained.keys()].join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('discovery: retained, documented keys, one device, unique ids, availability from status; stale entity removed', async () => {
  const classes = 6;
  const retained = await discoveryUntil(
    (r) => r.size === classes + 2 * classes + 3 && !r.has(STALE),
    '21 entities',
  );
  const uniqueIds = new Set<string>();
  for (const [topic, payload] of retained) {
    const entity = checkDiscovery(topic, json(payload));
    assert.match(topic, /^homeassistant\/(sensor|binary_sensor)\/edgeseg_cam-ha\/[A-Za-z0-9_-]+\/config$/);
    uniqueIds.add(entity.unique_id!);
    assert.deepEqual(entity.device?.identifiers, ['edgeseg_cam-ha']);
    assert.deepEqual(
      entity.availability?.map((a) => a.topic),
      [`${BASE}/status`],
    );
    assert.equal(entity.state_topic, `${BASE}/summary`);
  }
  assert.equal(uniqueIds.size, retained.size, 'unique ids repeat');
  assert.ok(retained.has('homeassistant/sensor/edgeseg_cam-ha/region_left_half__road/config'));
  assert.ok(retained.has('homeassistant/binary_sensor/edgeseg_cam-ha/source/config'));
});

test('the value templates read the real status and summary messages as Home Assistant would', async () => {
  const summaryMessage = await recorder.waitFor(
    (m) => m.topic === `${BASE}/summary` && (json(m.payload).frames as number) > 0,
    20_000,
  );
  SummaryPayloadSchema.parse(json(summaryMessage.payload));
  const status = (await retainedMessages(suite.broker.url, `${BASE}/status`)).get(`${BASE}/status`)!;
  const summary = (await retainedMessages(suite.broker.url, `${BASE}/summary`)).get(`${BASE}/summary`)!;
  for (const [topic, payload] of await discovery()) {
    const entity = checkDiscovery(topic, json(payload));
    assert.equal(renderValueTemplate(entity.availability![0]!.value_template!, status), 'online');
    const value = renderValueTemplate(entity.value_template!, summary);
    if (topic.includes('/binary_sensor/')) assert.equal(value, 'ON', topic);
    else if (entity.unit_of_measurement === '%') {
      const percent = Number(value);
      assert.ok(percent >= 0 && percent <= 100, `${topic}: ${value}`);
    } else assert.ok(Number(value) > 0, `${topic}: ${value}`);
  }
  // A clean exit publishes `stopped`: Home Assistant must show the entities unavailable.
  const stopped = JSON.stringify({ ...json(status), state: 'stopped' });
  const [anyTopic, anyPayload] = [...(await discovery())][0]!;
  const { availability } = checkDiscovery(anyTopic, json(anyPayload));
  assert.equal(renderValueTemplate(availability![0]!.value_template!, stopped), 'offline');
});

test('info: retained, schema-valid, republished after a config change; a vanished region loses its entities', async () => {
  const first = InfoPayloadSchema.parse(
    json((await retainedMessages(suite.broker.url, `${BASE}/info`)).get(`${BASE}/info`)!),
  );
  assert.equal(first.capabilities.homeassistant, true);
  assert.ok(first.outputs.some((o) => o.name === 'summary' && o.address === `${BASE}/summary`));
  const republished = recorder.waitFor((m) => m.topic === `${BASE}/info`);
  await configSet({ regions: [verticalBand('left-half', 0, 0.5)] }, 'ha-1');
  const second = InfoPayloadSchema.parse(json((await republished).payload));
  assert.ok(second.timestamp > first.timestamp);
  const retained = await discoveryUntil((r) => r.size === 6 + 6 + 3, 'right half entities removed');
  assert.ok(![...retained.keys()].some((topic) => topic.includes('right_half')));
});

test('another model with other classes: the vanished class is removed, the new one announced, info updated', async () => {
  // A model is switched by its folder name inside models_dir (here the folder of road-a).
  const other = join(suite.dir, 'models', 'renamed');
  await cp(join(suite.dir, 'models', 'road-a'), other, { recursive: true });
  const manifest = JSON.parse(await readFile(join(other, 'manifest.json'), 'utf8'));
  manifest.name = 'renamed-classes';
  manifest.classes = manifest.classes.map((c: { name: string }) =>
    c.name === 'person' ? { ...c, name: 'pedestrian' } : c,
  );
  await writeFile(join(other, 'manifest.json'), JSON.stringify(manifest));
  const modelName = (m: { payload: Buffer }) =>
    (json(m.payload).model as { name?: string } | undefined)?.name;
  const republished = recorder.waitFor(
    (m) => m.topic === `${BASE}/info` && modelName(m) === 'renamed-classes',
    60_000,
  );
  await configSet({ model: 'renamed' }, 'ha-2');
  const info = InfoPayloadSchema.parse(json((await republished).payload));
  assert.ok(info.model.classes.some((c) => c.name === 'pedestrian'));
  const retained = await discoveryUntil(
    (r) =>
      r.has('homeassistant/sensor/edgeseg_cam-ha/class_pedestrian/config') &&
      !r.has('homeassistant/sensor/edgeseg_cam-ha/class_person/config'),
    'person replaced by pedestrian',
  );
  assert.equal(retained.size, 6 + 6 + 3);
});

test('turning discovery off removes every entity and the summary', async () => {
  await configSet({ homeassistant: { enabled: false } }, 'ha-3');
  await discoveryUntil((r) => r.size === 0, 'all entities removed');
  const summary = await retainedMessages(suite.broker.url, `${BASE}/summary`);
  assert.equal(summary.size, 0);
});

test('a restart with discovery off still clears entities an earlier run left', {
  timeout: 120_000,
}, async () => {
  daemon.child.kill('SIGTERM');
  assert.equal(await daemon.exited, 0, daemon.stderr());
  await publishRetained(STALE, '{"name":"left by an earlier run"}');
  assert.equal((await discovery()).size, 1);
  daemon = await startOnline();
  await discoveryUntil((r) => r.size === 0, 'stale entity removed after restart');
});
