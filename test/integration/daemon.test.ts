// The daemon as a vehicle runs it: a real subprocess, a real mosquitto broker, a real exported model.

import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { exportModel } from '../../src/export/export.js';
import { CAFFE_VGG_NORMALIZATION } from '../../src/model/architecture.js';
import { createFcn8s } from '../../src/model/fcn8s.js';
import { initTf } from '../../src/model/tf.js';
import {
  HealthPayloadSchema,
  ResponsePayloadSchema,
  StatsPayloadSchema,
  StatusPayloadSchema,
} from '../../src/mqtt/payloads.js';
import { json, testConfig, useDaemonSuite, writeConfig } from '../helpers/daemon.js';
import type { Recorder } from '../helpers/mosquitto.js';

const BASE = 'edgeseg/cam-test';
let recorder: Recorder;
let configPath: string;
let classColours: Array<[number, number, number]>;
let dir: string;

const isStatus = (state: string) => (m: { topic: string; payload: Buffer }) =>
  m.topic === `${BASE}/status` && json(m.payload).state === state;

const suite = useDaemonSuite({
  setUp: async ({ dir: suiteDir, broker }) => {
    dir = suiteDir;
    await initTf('auto');
    const model = createFcn8s(
      {
        numClasses: 3,
        height: 64,
        width: 96,
        widthMultiplier: 1 / 16,
        head: 'original',
        inputChannelOrder: 'BGR',
        normalization: CAFFE_VGG_NORMALIZATION,
      },
      { seed: 4 },
    );
    classColours = model.classes.map((c) => c.color);
    await exportModel(model, join(dir, 'model'));
    model.dispose();
    configPath = await writeConfig(
      join(dir, 'config.yaml'),
      testConfig(dir, broker.url, {
        model: join(dir, 'model'),
        capture: { width: 320, height: 192 },
        // This small model would run in-process under 'auto': force the worker's frame stream here
        // (the demo test covers the in-process path).
        engine: { inference_thread: 'worker' },
        publish: { mask: { width: 48, height: 32 }, health: { interval_ms: 1000 } },
        regions: [
          {
            name: 'left_half',
            polygon: [
              [0, 0],
              [0.5, 0],
              [0.5, 1],
              [0, 1],
            ],
          },
        ],
      }),
    );
    recorder = await suite.recorder([`${BASE}/#`]);
  },
});

test('daemon: masks, stats, remote config, bad requests, broker outage, SIGTERM, persistence', {
  timeout: 180_000,
}, async (t) => {
  const daemon = suite.startDaemon(configPath);
  try {
    await recorder.waitFor(isStatus('online'), 60_000, true).catch((error: Error) => {
      throw new Error(`${error.message}; daemon stderr:\n${daemon.log.text}`);
    });

    await t.test('masks decode to the configured size with only valid class ids', async () => {
      const mask = await recorder.waitFor((m) => m.topic === `${BASE}/mask`);
      const { data, info } = await sharp(mask.payload)
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      assert.equal(info.width, 48);
      assert.equal(info.height, 32);
      const palette = new Set(classColours.map((c) => c.join(',')));
      for (let i = 0; i < data.length; i += 3)
        assert.ok(
          palette.has(`${data[i]},${data[i + 1]},${data[i + 2]}`),
          `pixel ${i / 3} is no class colour`,
        );
    });

    await t.test(
      'stats: fractions sum to 1 overall and per region, latency parts add up to the age',
      async () => {
        const stats = json((await recorder.waitFor((m) => m.topic === `${BASE}/stats`)).payload);
        StatsPayloadSchema.parse(stats);
        StatusPayloadSchema.parse(json(recorder.messages.find((m) => m.topic === `${BASE}/status`)!.payload));
        const sum = (fractions: unknown) =>
          Object.values(fractions as Record<string, number>).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum(stats.classFractions) - 1) < 1e-3);
        assert.ok(Math.abs(sum((stats.regions as Record<string, unknown>).left_half) - 1) < 1e-3);
        assert.deepEqual(stats.mask, { width: 48, height: 32 });
        const latency = stats.latencyMs as Record<string, number>;
        assert.ok(latency.inference! > 0);
        // The parts of the result's age add up to it (Date.now() gives whole milliseconds).
        const parts = ['queue', 'preprocess', 'inference', 'handoff', 'postprocess', 'publish'];
        const partSum = parts.reduce((total, part) => total + latency[part]!, 0);
        assert.ok(Math.abs(latency.total! - partSum) <= 3, JSON.stringify(latency));
      },
    );

    await t.test('health reports frames flowing and memory', async () => {
      const health = json((await recorder.waitFor((m) => m.topic === `${BASE}/health`)).payload);
      HealthPayloadSchema.parse(health);
      assert.ok((health.frames as Record<string, number>).out! > 0);
      assert.ok((health.rssBytes as number) > 0);
    });

    await t.test('the optimised model is cached under state_dir for the next start', async () => {
      const entries = (await readdir(join(dir, 'state', 'model-cache'))).filter(
        (name) => !name.startsWith('.'),
      );
      assert.equal(entries.length, 1, entries.join(', '));
      assert.ok((await readdir(join(dir, 'state', 'model-cache', entries[0]!))).includes('entry.json'));
    });

    await t.test('config/set applies fps live, echoes the transaction and updates config/get', async () => {
      const response = await recorder.request(
        BASE,
        'config/set',
        { config: { fps: 4, publish: { overlay: { alpha: 0.3 } } } },
        'tx-1',
      );
      assert.equal(response.status, 'ok', JSON.stringify(response));
      ResponsePayloadSchema.parse(response);
      assert.equal(response.transaction, 'tx-1');
      assert.equal((response.data as Record<string, unknown>).restartRequired, false);
      const got = await recorder.request(BASE, 'config/get', {}, 'tx-2');
      const config = (got.data as { config: Record<string, unknown> }).config;
      assert.equal(config.fps, 4);
    });

    await t.test('malformed requests get error responses naming the problem and change nothing', async () => {
      const badJson = await recorder.request(BASE, 'config/set', '{not json', 'ignored');
      assert.equal(badJson.status, 'error');
      assert.match(String(badJson.error), /not valid JSON/);
      const wrongType = await recorder.request(BASE, 'config/set', { config: { fps: 'fast' } }, 'tx-3');
      assert.equal(wrongType.status, 'error');
      assert.match(String(wrongType.error), /fps/);
      const unknownKey = await recorder.request(BASE, 'config/set', { config: { fpz: 3 } }, 'tx-4');
      assert.match(String(unknownKey.error), /fpz/);
      const oversized = await recorder.request(
        BASE,
        'config/set',
        { config: { device_id: 'x'.repeat(70_000) } },
        'tx-5',
      );
      assert.match(String(oversized.error), /limit/);
      const unknownRequest = await recorder.request(BASE, 'reboot', {}, 'tx-6');
      assert.match(String(unknownRequest.error), /unknown request "reboot"/);
      const got = await recorder.request(BASE, 'config/get', {}, 'tx-7');
      assert.equal((got.data as { config: Record<string, unknown> }).config.fps, 4);
    });

    await t.test(
      'after the broker is killed and restarted the daemon reconnects, republishes status and answers',
      async () => {
        const disconnects = daemon.log.count(/MQTT disconnected/);
        await suite.broker.kill();
        // The outage lasts until the daemon has noticed it, however long that takes.
        await daemon.log.waitFor(/MQTT disconnected/, { times: disconnects + 1, timeoutMs: 30_000 });
        await suite.broker.resume();
        await recorder.waitFor(isStatus('online'), 30_000);
        await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 20_000);
        const health = await recorder.request(BASE, 'health', {}, 'tx-8');
        assert.equal(health.status, 'ok');
        assert.ok(((health.data as { mqtt: Record<string, number> }).mqtt.reconnects ?? 0) >= 1);
      },
    );

    await t.test('SIGTERM publishes stopped and exits 0', async () => {
      const stopped = recorder.waitFor(isStatus('stopped'), 20_000);
      daemon.child.kill('SIGTERM');
      await stopped;
      assert.equal(await daemon.exited, 0, daemon.log.text);
    });
  } finally {
    daemon.child.kill('SIGKILL');
  }

  await t.test('accepted configuration survives a restart', async () => {
    const again = suite.startDaemon(configPath);
    try {
      await recorder.waitFor(isStatus('online'), 60_000);
      const got = await recorder.request(BASE, 'config/get', {}, 'tx-9');
      const config = (got.data as { config: Record<string, Record<string, Record<string, unknown>>> }).config;
      assert.equal(config.fps as unknown, 4);
      assert.equal(config.publish?.overlay?.alpha, 0.3);
      again.child.kill('SIGTERM');
      assert.equal(await again.exited, 0, again.log.text);
    } finally {
      again.child.kill('SIGKILL');
    }
  });
});
