// Config key metadata is declared beside each field: a key without it stops the schema from loading,
// and what it declares is what the policy does (credentials refused over MQTT, secrets never shown)
// and what the hand-written docs say.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { configKeys, keyed } from '../../src/config/key-meta.js';
import { environmentOverrides, stripSecrets, validateConfig } from '../../src/config/load.js';
import { checkRemotePatch } from '../../src/config/policy.js';
import {
  CONFIG_KEYS,
  ConfigSchema,
  LOCKABLE_KEYS,
  OPERATIONAL_KEYS,
  OPERATIONAL_PATHS,
} from '../../src/config/schema.js';
import { repoRoot } from '../helpers/cli.js';

const base = {
  device_id: 'cam',
  source: 'test://synthetic-road',
  model: '/var/lib/edgeseg/models/road-v1',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
};

test('every top-level key says who may change it and when a change applies; one added without is refused by name', () => {
  const top = CONFIG_KEYS.filter((key) => key.path.length === 1);
  assert.deepEqual(
    top.map((key) => key.path[0]),
    Object.keys(ConfigSchema.shape),
  );
  for (const key of top) {
    assert.ok(key.own.remote && key.own.applies, key.path.join('.'));
    if (key.own.remote === 'locked') assert.match(key.own.lockReason ?? '', /^it /, key.path.join('.'));
  }
  // schema.ts calls configKeys() when it loads, so a key like this one stops every command and test.
  assert.throws(
    () => configKeys(z.object({ ...ConfigSchema.shape, frame_skip: z.number().default(0) })),
    /config key frame_skip: no metadata: wrap the field in keyed\(/,
  );
  const locked = { remote: 'locked', lockReason: 'it decides x', applies: 'restart' } as const;
  const cases: Array<[z.ZodObject, RegExp]> = [
    [
      z.object({ a: keyed({ remote: 'locked', applies: 'live' }, z.number()) }),
      /a: a locked key needs a lockReason/,
    ],
    [
      z.object({ a: keyed({ remote: 'open', applies: 'live', lockReason: 'x' }, z.number()) }),
      /only a locked key has one/,
    ],
    [
      z.object({ a: keyed(locked, z.object({ b: keyed({ remote: 'locked' }, z.number()) })) }),
      /a\.b: below the top, remote can only be 'open'/,
    ],
    [
      z.object({
        a: keyed({ remote: 'open', applies: 'live' }, z.object({ b: keyed({ remote: 'open' }, z.number()) })),
      }),
      /a\.b: below the top, remote can only be 'open', on a direct part of a locked key/,
    ],
    [
      z.object({
        a: keyed(locked, z.object({ b: z.object({ c: keyed({ applies: 'live' }, z.number()) }) })),
      }),
      /a\.b\.c: below the top, applies can only be 'live'/,
    ],
  ];
  for (const [schema, error] of cases) assert.throws(() => configKeys(schema), error);
});

test('every credential is refused over MQTT even when its key is unlocked, and no secret is shown', () => {
  const open = { unlock: [...LOCKABLE_KEYS], configFile: '/etc/edgeseg/config.yaml' };
  for (const patch of [
    { mqtt: { username: 'x' } },
    { mqtt: { password: 'x' } },
    { mqtt: { tls: { ca: '/ca.pem' } } },
    { mqtt: { tls: { cert: '/cert.pem' } } },
    { mqtt: { tls: { key: '/key.pem' } } },
    { capture: { username: 'x' } },
    { capture: { password: 'x' } },
    { http: { token: 'x'.repeat(16) } },
  ])
    assert.throws(() => checkRemotePatch(patch, open), /not taken over MQTT/, JSON.stringify(patch));
  const config = validateConfig(
    {
      ...base,
      mqtt: {
        ...base.mqtt,
        username: 'mqtt-user',
        password: 'mqtt-pass',
        tls: { ca: '/ca.pem', key: '/key.pem' },
      },
      capture: { username: 'cam-user', password: 'cam-pass' },
      http: { token: 'web-token-0123456789' },
    },
    'f',
  );
  const shown = JSON.stringify(stripSecrets(config));
  for (const secret of ['mqtt-user', 'mqtt-pass', '/key.pem', 'cam-user', 'cam-pass', 'web-token'])
    assert.ok(!shown.includes(secret), secret);
  // A CA file is no secret: it is shown (and still refused over MQTT above).
  assert.match(shown, /"ca":"\/ca\.pem"/);
});

test("docs/deployment.md's hand-written list of operational keys is the metadata's", () => {
  const text = readFileSync(join(repoRoot, 'docs/deployment.md'), 'utf8').replace(/\s+/g, ' ');
  const listed = /change only the operational keys \(([^)]*)\)/.exec(text)?.[1];
  assert.ok(listed, 'docs/deployment.md no longer has "change only the operational keys (...)"');
  const named = [...listed.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
  assert.deepEqual(
    named.sort(),
    [...OPERATIONAL_KEYS, ...OPERATIONAL_PATHS.map((path) => path.join('.'))].sort(),
    'update the list in docs/deployment.md ("Who may command the device")',
  );
});

test('each environment variable sets its option; an empty one sets nothing', () => {
  const patch = environmentOverrides({
    EDGESEG_STATE_DIR: '/var/lib/edgeseg',
    EDGESEG_SOURCE_USERNAME: 'cam-user',
    EDGESEG_SOURCE_PASSWORD: 'cam-pass',
    EDGESEG_MQTT_USERNAME: 'mqtt-user',
    EDGESEG_MQTT_PASSWORD: 'mqtt-pass',
    EDGESEG_MQTT_TLS_CA: '/ca.pem',
    EDGESEG_MQTT_TLS_CERT: '/cert.pem',
    EDGESEG_MQTT_TLS_KEY: '/key.pem',
    EDGESEG_HTTP_TOKEN: 'web-token-0123456789',
    EDGESEG_MODELS_DIR: '/not-a-config-override',
  });
  assert.deepEqual(patch, {
    state_dir: '/var/lib/edgeseg',
    capture: { username: 'cam-user', password: 'cam-pass' },
    mqtt: {
      username: 'mqtt-user',
      password: 'mqtt-pass',
      tls: { ca: '/ca.pem', cert: '/cert.pem', key: '/key.pem' },
    },
    http: { token: 'web-token-0123456789' },
  });
  assert.deepEqual(environmentOverrides({ EDGESEG_MQTT_PASSWORD: '', EDGESEG_HTTP_TOKEN: '' }), {});
});
