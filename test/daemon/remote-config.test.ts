// Which accepted changes apply at once and which wait for a restart, as config/set reports them in
// restartKeys: derived from each key's metadata (src/config/schema-*.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { splitLive } from '../../src/daemon/extensions/remote-config.js';

const base = {
  device_id: 'cam',
  source: 'test://synthetic-road',
  model: '/models/road-v1',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
};
const current = validateConfig(base, 'f');

test('a change to a restart key keeps its running value and is listed; a live one applies now', () => {
  const restart: Array<[string, Record<string, unknown>]> = [
    ['device_id', { device_id: 'cam-2' }],
    ['source', { source: '/var/lib/edgeseg/clip.mp4' }],
    ['models_dir', { models_dir: '/other-models' }],
    ['state_dir', { state_dir: '/tmp/other-state' }],
    ['capture', { capture: { width: 320 } }],
    ['engine', { engine: { runtime: 'tfjs' } }],
    ['mqtt', { mqtt: { url: 'mqtt://127.0.0.1:1884' } }],
    ['http', { http: { port: 8081 } }],
    ['log', { log: { format: 'json' } }],
  ];
  for (const [key, patch] of restart) {
    const next = validateConfig({ ...base, ...patch }, 'f');
    const { live, restartKeys } = splitLive(current, next);
    assert.deepEqual(restartKeys, [key], key);
    assert.deepEqual(live[key as keyof typeof live], current[key as keyof typeof current], key);
  }
  const liveChanges: Array<Record<string, unknown>> = [
    { model: '/models/road-v2' },
    { fps: 3 },
    { publish: { overlay: { enabled: true } } },
    {
      regions: [
        {
          name: 'r',
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
        },
      ],
    },
    { outputs: [{ uri: 'rtp://127.0.0.1:5004' }] },
    { homeassistant: { enabled: true, discovery_prefix: 'ha' } },
    { log: { level: 'debug' } },
  ];
  for (const patch of liveChanges) {
    const next = validateConfig({ ...base, ...patch }, 'f');
    const { live, restartKeys } = splitLive(current, next);
    assert.deepEqual(restartKeys, [], JSON.stringify(patch));
    assert.deepEqual(live, next, JSON.stringify(patch));
  }
  // log.level applies now, log.format waits: one change, split.
  const both = splitLive(current, validateConfig({ ...base, log: { level: 'warn', format: 'json' } }, 'f'));
  assert.deepEqual(both.restartKeys, ['log']);
  assert.deepEqual(both.live.log, { level: 'warn', format: 'auto' });
});
