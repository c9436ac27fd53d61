import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderConfigDoc, renderConfigJsonSchema } from '../../src/config/json-schema.js';
import {
  environmentOverrides,
  loadConfig,
  mergePatch,
  readConfigFile,
  stripSecrets,
  validateConfig,
} from '../../src/config/load.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const minimal = {
  device_id: 'cam-front',
  source: 'test://synthetic-road',
  model: 'models/synthetic-road-fcn8s',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
};

test('the minimal config from the issue is enough; every other option has its default', () => {
  const config = validateConfig(minimal, 'config.yaml');
  assert.equal(config.fps, 10);
  assert.equal(config.mqtt.base_topic, 'edgeseg');
  assert.equal(config.mqtt.protocol_version, 5);
  assert.deepEqual(config.engine.execution_providers, ['tensorrt', 'cuda', 'cpu']);
  assert.equal(config.publish.overlay.enabled, false);
});

test('errors name the file and every key at fault', () => {
  assert.throws(
    () =>
      validateConfig(
        { ...minimal, fps: 'fast', mqtt: { url: 'http://x' }, extra: 1 },
        '/etc/edgeseg/config.yaml',
      ),
    (error: Error) =>
      /\/etc\/edgeseg\/config\.yaml/.test(error.message) &&
      /fps:/.test(error.message) &&
      /mqtt\.url:/.test(error.message) &&
      /extra/.test(error.message),
  );
});

test('secrets come from the environment and are never echoed', () => {
  const patch = environmentOverrides({
    EDGESEG_MQTT_PASSWORD: 's3cret',
    EDGESEG_MQTT_TLS_KEY: '/k.pem',
    EDGESEG_STATE_DIR: '/var/lib/edgeseg',
  });
  const config = validateConfig(mergePatch(minimal, patch), 'env');
  assert.equal(config.mqtt.password, 's3cret');
  assert.equal(config.state_dir, '/var/lib/edgeseg');
  const shown = stripSecrets(config);
  assert.equal(shown.mqtt.password, undefined);
  assert.equal(shown.mqtt.tls.key, undefined);
  assert.equal(config.mqtt.password, 's3cret', 'stripSecrets must not modify its input');
});

test('persisted remote changes apply over the file; ones that no longer validate are set aside with the reason', async () => {
  const dir = await makeTempDir();
  const base = { ...minimal, state_dir: dir };
  await writeFile(join(dir, 'remote-config.json'), JSON.stringify({ fps: 3 }));
  assert.equal((await loadConfig(base, 'file')).config.fps, 3);
  await writeFile(join(dir, 'remote-config.json'), JSON.stringify({ fps: -1 }));
  const loaded = await loadConfig(base, 'file');
  assert.equal(loaded.config.fps, 10);
  assert.match(loaded.rejected?.reason ?? '', /fps/);
  assert.match(loaded.rejected?.file ?? '', /remote-config\.rejected-.*\.json$/);
  assert.equal(existsSync(join(dir, 'remote-config.json')), false, 'the rejected file is moved aside');
  assert.equal(JSON.parse(readFileSync(loaded.rejected!.file, 'utf8')).fps, -1, 'and kept for the operator');
});

test('YAML problems name the file', async () => {
  const dir = await makeTempDir();
  await mkdir(join(dir, 'x'));
  const path = join(dir, 'bad.yaml');
  await writeFile(path, 'device_id: [unclosed\n');
  await assert.rejects(readConfigFile(path), /bad\.yaml: not valid YAML/);
  // The place, without a dangling colon, then yaml's code frame pointing at it.
  await writeFile(path, 'device_id: cam\nmqtt: url: mqtt://x\n');
  await assert.rejects(readConfigFile(path), (error: Error) => {
    assert.match(error.message, /not valid YAML: .* at line 2, column \d+\n/);
    assert.match(error.message, /mqtt: url: mqtt:\/\/x\n\s*\^/);
    return true;
  });
  await assert.rejects(
    readConfigFile(join(dir, 'missing.yaml')),
    /missing\.yaml: cannot read the config file/,
  );
});

test('docs/config.schema.json is generated from the schema and up to date', () => {
  const committed = readFileSync(join(repoRoot, 'docs/config.schema.json'), 'utf8');
  assert.equal(
    committed,
    renderConfigJsonSchema(),
    'run: node --import tsx scripts/generate-config-schema.ts',
  );
  assert.equal(
    readFileSync(join(repoRoot, 'docs/config.md'), 'utf8'),
    renderConfigDoc(),
    'run: node --import tsx scripts/generate-config-schema.ts',
  );
});

test('docs/mqtt-api.md is generated from the payload schemas and up to date', async () => {
  const { renderMqttApiDoc } = await import('../../src/mqtt/api-doc.js');
  const committed = readFileSync(join(repoRoot, 'docs/mqtt-api.md'), 'utf8');
  assert.equal(committed, renderMqttApiDoc(), 'run: node --import tsx scripts/generate-mqtt-docs.ts');
});

test('examples/config.yaml is a valid config', async () => {
  const config = validateConfig(
    await readConfigFile(join(repoRoot, 'examples/config.yaml')),
    'examples/config.yaml',
  );
  assert.equal(config.regions[0]?.name, 'lane_ahead');
});

test('web server and Home Assistant options are bounded and off by default; the server binds to loopback', () => {
  const config = validateConfig(minimal, 'config.yaml');
  assert.equal(config.http.enabled, false);
  assert.equal(config.http.host, '127.0.0.1');
  assert.equal(config.homeassistant.enabled, false);
  for (const [patch, key] of [
    [{ http: { port: 0 } }, /http\.port/],
    [{ http: { port: 65536 } }, /http\.port/],
    [{ http: { host: '0.0.0.0; rm -rf /' } }, /http\.host/],
    [{ http: { host: 'x'.repeat(254) } }, /http\.host/],
    [{ http: { max_connections: 100_000 } }, /http\.max_connections/],
    [{ http: { stream: { max_fps: 0 } } }, /http\.stream\.max_fps/],
    [{ http: { stream: { max_viewers: 1000 } } }, /http\.stream\.max_viewers/],
    [{ homeassistant: { discovery_prefix: 'home/#' } }, /homeassistant\.discovery_prefix/],
    [{ homeassistant: { discovery_prefix: 'h'.repeat(65) } }, /homeassistant\.discovery_prefix/],
    [{ homeassistant: { state_interval_ms: 10 } }, /homeassistant\.state_interval_ms/],
  ] as const)
    assert.throws(() => validateConfig(mergePatch(minimal, patch), 'config.yaml'), key);
});
