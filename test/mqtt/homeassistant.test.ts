// Discovery payloads and the info payload built from awkward but valid input: class and region
// names that collide once slugged or contain quotes, source URIs with credentials.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import type { EngineInfo } from '../../src/engine/types.js';
import { readManifest } from '../../src/model/manifest.js';
import { discoveryMessages, isOwnDiscoveryTopic, SummaryWindow } from '../../src/mqtt/homeassistant.js';
import { infoPayload } from '../../src/mqtt/info.js';
import { InfoPayloadSchema, type StatsPayload } from '../../src/mqtt/payloads.js';
import { topicsFor } from '../../src/mqtt/topics.js';
import { repoRoot } from '../helpers/cli.js';
import { checkDiscovery, renderValueTemplate } from '../helpers/homeassistant.js';

const manifest = await readManifest(join(repoRoot, 'models/synthetic-road-fcn8s'));
const square = [
  [0, 0],
  [1, 0],
  [1, 1],
];
const config = (extra: Record<string, unknown> = {}) =>
  validateConfig(
    {
      device_id: 'cam-1',
      source: 'rtsp://admin:s3cret@192.0.2.7:554/stream?x=1',
      model: 'models/synthetic-road-fcn8s',
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      homeassistant: { enabled: true },
      ...extra,
    },
    'test',
  );
const topics = topicsFor('edgeseg', 'cam-1');

test('names that collide once slugged or hold quotes still give unique ids and working templates', () => {
  const awkward = {
    ...manifest,
    classes: [
      { ...manifest.classes[0]!, name: 'Road' },
      { ...manifest.classes[1]!, name: 'road' },
      { ...manifest.classes[2]!, name: `it's "}} {{ x` },
    ],
  };
  const regions = [
    { name: 'a.b', polygon: square },
    { name: 'a_b', polygon: square },
  ];
  const messages = discoveryMessages({ config: config({ regions }), manifest: awkward, topics });
  assert.equal(messages.length, 3 + 2 * 3 + 3);
  const ids = messages.map((m) => checkDiscovery(m.topic, m.payload).unique_id);
  assert.equal(new Set(ids).size, ids.length, `repeated unique ids: ${ids.join(', ')}`);
  assert.equal(new Set(messages.map((m) => m.topic)).size, messages.length);
  for (const { topic } of messages) assert.ok(isOwnDiscoveryTopic(topic, 'homeassistant', 'cam-1'), topic);
  const summary = JSON.stringify({
    frames: 1,
    classFractions: { Road: 0.25, road: 0.5, [`it's "}} {{ x`]: 0.125 },
    regions: { 'a.b': { road: 1 } },
  });
  const rendered = messages
    .filter((m) => m.topic.includes('/class_') || m.topic.includes('region_a_b__road_2'))
    .map((m) => renderValueTemplate(String(m.payload.value_template), summary));
  assert.deepEqual(rendered, ['25', '50', '12.5', '100']);
  // A region without that class in this interval (or no frame at all) is unknown, not an error.
  const missing = messages.find((m) => m.topic.includes('region_a_b_2__road_2'))!;
  assert.equal(renderValueTemplate(String(missing.payload.value_template), summary), 'None');
});

test('discovery follows publish.classes and is empty when disabled', () => {
  const only = discoveryMessages({ config: config({ publish: { classes: ['road'] } }), manifest, topics });
  assert.deepEqual(only.map((m) => m.topic.split('/')[3]).sort(), [
    'class_road',
    'fps',
    'inference_time',
    'source',
  ]);
  assert.deepEqual(
    discoveryMessages({ config: config({ homeassistant: { enabled: false } }), manifest, topics }),
    [],
  );
  assert.ok(!isOwnDiscoveryTopic('homeassistant/sensor/edgeseg_cam-10/fps/config', 'homeassistant', 'cam-1'));
});

test('the info payload names the source without its password', () => {
  const engine: EngineInfo = {
    runtime: 'onnxruntime',
    provider: 'cpu',
    fallbackReasons: [],
    inputDims: [],
    outputDims: [],
  };
  const info = InfoPayloadSchema.parse(
    infoPayload({
      config: config(),
      manifest,
      engine,
      topics,
      requests: ['health', 'config/get'],
    }),
  );
  assert.match(info.source, /^rtsp:\/\/.*192\.0\.2\.7:554\/stream\?x=1$/);
  assert.doesNotMatch(JSON.stringify(info), /s3cret/);
  assert.deepEqual(info.capabilities.requests, ['config/get', 'health']);
});

test('the summary is the mean over its window, and empty (unknown in Home Assistant) without frames', () => {
  const window = new SummaryWindow();
  const stats = (road: number) =>
    ({
      classFractions: { road },
      regions: { lane: { road } },
      latencyMs: { inference: road * 10 },
    }) as unknown as StatsPayload;
  window.add(stats(0.2));
  window.add(stats(0.6));
  const summary = window.take(true);
  assert.deepEqual(
    [summary.frames, summary.classFractions, summary.regions, summary.inferenceMs],
    [2, { road: 0.4 }, { lane: { road: 0.4 } }, 4],
  );
  const empty = window.take(false);
  assert.deepEqual([empty.frames, empty.classFractions, empty.sourceRunning], [0, {}, false]);
});
