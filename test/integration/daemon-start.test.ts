// Starting the daemon when something is wrong: a persisted remote change that fails is set aside and
// the device comes up on its local file (never bricked); stale temp files are cleaned; a fatal start
// error ends the process with a non-zero code within seconds.

import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { StatusPayloadSchema } from '../../src/mqtt/payloads.js';
import {
  isOnlineStatus,
  json,
  startDaemonProcess,
  testConfig,
  useDaemonSuite,
  writeConfig,
} from '../helpers/daemon.js';
import { Recorder } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

const suite = useDaemonSuite();

test('a persisted change whose model fails to load is set aside; the device starts on its local model and says why', async () => {
  const device = 'cam-rollback';
  const stateDir = join(suite.dir, 'state-rollback');
  await mkdir(stateDir, { recursive: true });
  // Written as an accepted config/set would have written it, before the model folder broke.
  await writeFile(join(stateDir, 'remote-config.json'), JSON.stringify({ model: 'broken', fps: 3 }));
  // Leftovers of a write killed between write and rename.
  for (const name of ['.remote-config.json.123.abcd1234.tmp', '.remote-config.json.9.ffff0000.tmp'])
    await writeFile(join(stateDir, name), '{"fps": 1');
  const config = await writeConfig(
    join(suite.dir, 'rollback.yaml'),
    testConfig(suite.dir, suite.broker.url, { device_id: device, state_dir: stateDir }),
  );
  const recorder = await Recorder.connect(suite.broker.url, [`edgeseg/${device}/#`]);
  const daemon = startDaemonProcess(config);
  try {
    const online = await recorder.waitFor(isOnlineStatus(`edgeseg/${device}`), 60_000);
    const status = StatusPayloadSchema.parse(json(online.payload));
    assert.equal(status.degraded, true);
    assert.match(status.rejectedRemoteConfig?.reason ?? '', /could not start with it: .*broken/);
    assert.match(status.problems.join('\n'), /remote configuration rejected/);
    const files = await readdir(stateDir);
    assert.ok(!files.includes('remote-config.json'), 'the failing change no longer applies');
    const rejected = files.find((name) => name.startsWith('remote-config.rejected-'));
    assert.ok(rejected, files.join(', '));
    assert.deepEqual(JSON.parse(await readFile(join(stateDir, rejected), 'utf8')), {
      model: 'broken',
      fps: 3,
    });
    assert.deepEqual(
      files.filter((name) => name.endsWith('.tmp')),
      [],
      'stale temp files are removed',
    );
    // The device runs its local config and still takes (allowed) changes.
    const got = await recorder.request(`edgeseg/${device}`, 'config/get', {}, 'g');
    assert.equal((got.data as { config: { fps: number } }).config.fps, 8);
    await recorder.waitFor((m) => m.topic === `edgeseg/${device}/stats`);
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.stderr());
  } finally {
    daemon.kill();
    recorder.end();
  }
});

test('remote MQTT settings that never connect are set aside after the probation; the device comes back on its local ones', {
  timeout: 120_000,
}, async () => {
  const device = 'cam-probation';
  const stateDir = join(suite.dir, 'state-probation');
  await mkdir(stateDir, { recursive: true });
  // An accepted change (mqtt unlocked locally) to a broker that does not exist.
  await writeFile(
    join(stateDir, 'remote-config.json'),
    JSON.stringify({ mqtt: { url: `mqtt://127.0.0.1:${await freePort()}` } }),
  );
  const config = await writeConfig(
    join(suite.dir, 'probation.yaml'),
    testConfig(suite.dir, suite.broker.url, {
      device_id: device,
      state_dir: stateDir,
      remote_config: { unlock: ['mqtt'], mqtt_probation_s: 5 },
    }),
  );
  const recorder = await Recorder.connect(suite.broker.url, [`edgeseg/${device}/#`]);
  const daemon = startDaemonProcess(config);
  try {
    const online = await recorder.waitFor(isOnlineStatus(`edgeseg/${device}`), 60_000);
    const status = StatusPayloadSchema.parse(json(online.payload));
    assert.match(status.rejectedRemoteConfig?.reason ?? '', /did not connect to the broker .* within 5 s/);
    assert.ok((await readdir(stateDir)).some((name) => name.startsWith('remote-config.rejected-')));
    assert.match(daemon.stderr(), /restarting on the local MQTT settings/);
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.stderr());
  } finally {
    daemon.kill();
    recorder.end();
  }
});

test('fatal start errors end the process with a non-zero code within seconds', async (t) => {
  const cases: Array<{ name: string; config: Record<string, unknown>; args?: string[]; error: RegExp }> = [
    {
      name: 'a local model that does not load',
      config: testConfig(suite.dir, suite.broker.url, { model: join(suite.dir, 'models', 'broken') }),
      error: /broken/,
    },
    {
      name: 'an unsupported source scheme',
      config: testConfig(suite.dir, suite.broker.url, { source: 'http://camera.local/stream' }),
      error: /source: unsupported scheme "http"/,
    },
    {
      name: 'a bad config with --demo (the embedded broker must not keep it alive)',
      config: { fps: 'fast' },
      args: ['--demo', '--port', '0'],
      error: /fps/,
    },
  ];
  for (const { name, config, args, error } of cases) {
    await t.test(name, async () => {
      const path = await writeConfig(join(suite.dir, 'fatal.yaml'), config);
      const started = Date.now();
      const daemon = startDaemonProcess(path, { ...(args ? { args } : {}) });
      const timeout = setTimeout(() => daemon.kill(), 30_000);
      const code = await daemon.exited;
      clearTimeout(timeout);
      // The process itself (tsx start-up included) ends well before the 30 s guard.
      assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
      assert.equal(code, 1, daemon.stderr());
      assert.match(daemon.stderr(), error);
    });
  }
});
