// The remote-change policy: an allowlist. Operational keys pass; locked keys fail naming the key and
// how to unlock it; secrets and remote_config never pass; a model is a name inside models_dir.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyRemotePatch, stripSecrets, validateConfig } from '../../src/config/load.js';
import { checkRemotePatch, resolveRemotePatch } from '../../src/config/policy.js';
import { LOCKABLE_KEYS } from '../../src/config/schema.js';
import { secretScrubber } from '../../src/system/redact.js';

const base = {
  device_id: 'cam',
  source: 'test://synthetic-road',
  model: '/var/lib/edgeseg/models/road-v1',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
};
const policy = { unlock: [] as string[], configFile: '/etc/edgeseg/config.yaml' };

test('operational keys pass; each locked key is refused by name with the way to unlock it', () => {
  checkRemotePatch({ fps: 5, publish: { mask: { enabled: false } }, regions: [], model: 'x' }, policy);
  checkRemotePatch({ log: { level: 'debug' } }, policy);
  checkRemotePatch({ homeassistant: { enabled: false, state_interval_ms: 60_000 } }, policy);
  assert.throws(
    () => checkRemotePatch({ homeassistant: { discovery_prefix: 'elsewhere' } }, policy),
    /homeassistant: locked for remote changes: it decides where the device publishes/,
  );
  assert.deepEqual([...LOCKABLE_KEYS].sort(), [
    'capture',
    'device_id',
    'engine',
    'homeassistant',
    'http',
    'log',
    'models_dir',
    'mqtt',
    'outputs',
    'source',
    'state_dir',
  ]);
  for (const key of LOCKABLE_KEYS) {
    assert.throws(
      () =>
        checkRemotePatch(
          {
            [key]:
              key === 'log' ? { format: 'json' } : key === 'homeassistant' ? { discovery_prefix: 'x' } : 'x',
          },
          policy,
        ),
      (error: Error & { hint?: string }) =>
        error.message.startsWith(`${key}: locked`) &&
        /remote_config\.unlock in \/etc\/edgeseg\/config\.yaml/.test(error.hint ?? ''),
      key,
    );
    checkRemotePatch({ [key]: 'x' }, { ...policy, unlock: [key] });
  }
});

test('secrets and remote_config are refused even when their key is unlocked', () => {
  const open = { ...policy, unlock: [...LOCKABLE_KEYS] };
  for (const patch of [
    { mqtt: { password: 'x' } },
    { mqtt: { username: 'x' } },
    { mqtt: { tls: { key: '/tmp/k' } } },
    { capture: { password: 'x' } },
  ])
    assert.throws(() => checkRemotePatch(patch, open), /not taken over MQTT/, JSON.stringify(patch));
  assert.throws(
    () => checkRemotePatch({ remote_config: { unlock: ['mqtt'] } }, open),
    /only the local config file/,
  );
  assert.throws(
    () => validateConfig({ ...base, remote_config: { unlock: ['fps'] } }, 'f'),
    /"fps" cannot be unlocked/,
  );
});

test('a remote model is a name inside models_dir, never a path', () => {
  assert.deepEqual(resolveRemotePatch({ model: 'road-v2' }, '/models'), { model: '/models/road-v2' });
  for (const model of ['../etc', '/etc/passwd', 'a/b', '.', '..', '', 'x'.repeat(200), 3])
    assert.throws(
      () => resolveRemotePatch({ model }, '/models'),
      /model: over MQTT give the name/,
      String(model),
    );
  const config = applyRemotePatch(base, validateConfig(base, 'f'), { model: 'road-v2' }, 'f');
  assert.equal(config.model, '/var/lib/edgeseg/models/road-v2');
});

test('bounds: a 20000-pixel mask and other absurd values are refused by name', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ publish: { mask: { width: 20000, height: 20000 } } }, /publish\.mask\.width/],
    [{ fps: 10_000 }, /fps/],
    [
      {
        regions: Array.from({ length: 33 }, (_, i) => ({
          name: `r${i}`,
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
        })),
      },
      /regions/,
    ],
    [{ mqtt: { url: 'mqtt://127.0.0.1:1883', max_payload_bytes: 1e9 } }, /max_payload_bytes/],
    [{ mqtt: { url: 'mqtt://evil host/' } }, /mqtt\.url/],
    // Credentials the redaction pattern could not see whole (it stops at quotes and spaces).
    [{ mqtt: { url: "mqtt://u:p'w@broker:1883" } }, /broker credentials in the URL/],
    [{ mqtt: { url: 'mqtt://u:p"w@broker:1883' } }, /broker credentials in the URL/],
    [{ mqtt: { url: 'mqtt://u:p w@broker:1883' } }, /broker credentials in the URL/],
    [{ mqtt: { url: 'mqtt://a@b@broker:1883' } }, /mqtt\.url/],
    [{ mqtt: { url: 'mqtt://127.0.0.1', base_topic: 'a/#' } }, /base_topic/],
    [{ capture: { width: 1e6 } }, /capture\.width/],
    [{ publish: { health: { interval_ms: 1 } } }, /interval_ms/],
  ];
  for (const [patch, error] of cases) assert.throws(() => validateConfig({ ...base, ...patch }, 'f'), error);
});

test('secrets: URL credentials and passwords are stripped from what is shown and from log lines', () => {
  const config = validateConfig(
    {
      ...base,
      source: 'rtsp://admin:s3cr%2Ft@cam.local/live',
      mqtt: { url: 'mqtts://dev:mqttpw@broker:8883', password: 'mqttpw2', tls: { key: '/k' } },
      capture: { password: 'campw' },
    },
    'f',
  );
  const shown = JSON.stringify(stripSecrets(config));
  for (const secret of ['s3cr', 'mqttpw', 'campw', '"/k"']) assert.ok(!shown.includes(secret), secret);
  assert.match(shown, /rtsp:\/\/\*\*\*@cam\.local\/live/);
  const scrub = secretScrubber(['campw', 's3cr/t', 'mqttpw2']);
  assert.equal(
    scrub('{"msg":"ffmpeg: rtsp://admin:s3cr%2Ft@cam.local/live: 401, pw campw and s3cr/t and mqttpw2"}'),
    '{"msg":"ffmpeg: rtsp://***@cam.local/live: 401, pw *** and *** and ***"}',
  );
});
