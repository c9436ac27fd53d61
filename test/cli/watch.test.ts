// `edgeseg watch` against a real mosquitto: each message is read through its payload schema, and a
// message that does not fit its schema (another version, another publisher) is shown as it came;
// --count N prints N statistics lines and exits 0, even when more arrive in the same burst.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { startCli } from '../helpers/cli.js';
import { Mosquitto } from '../helpers/mosquitto.js';

const broker = await Mosquitto.start();
after(() => broker.stop());

const stats = {
  seq: 7,
  captureTime: '2026-12-07T00:00:00.000Z',
  captureTimeMs: 1,
  modelId: 'road@0123456789ab',
  frame: { width: 576, height: 160 },
  mask: { width: 576, height: 160 },
  classFractions: { road: 0.25, background: 0.75 },
  regions: { ahead: { road: 1, background: 0 } },
  latencyMs: { queue: 1, preprocess: 1, inference: 5, handoff: 0, postprocess: 1, publish: 1, total: 9 },
};
const status = {
  state: 'online',
  deviceId: 'cam',
  instanceId: 'abc',
  version: '9.9.9',
  model: 'road@0123456789ab',
  timestamp: '2026-12-07T00:00:00.000Z',
  degraded: false,
  problems: [],
};

test('watch shows stats and status through their schemas, and a malformed message raw', {
  timeout: 60_000,
}, async () => {
  const watcher = startCli(['watch', '--broker', broker.url, '--count', '2'], { timeoutMs: 50_000 });
  // Publish until watch has subscribed (it says so on stderr), then the messages once.
  const publisher = await mqtt.connectAsync(broker.url);
  try {
    let subscribed = false;
    watcher.child.stderr!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('watching')) subscribed = true;
    });
    // watch says 'watching' once its subscriptions are acknowledged.
    const deadline = Date.now() + 40_000;
    while (!subscribed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await publisher.publishAsync('edgeseg/cam/status', JSON.stringify(status), { qos: 1 });
    await publisher.publishAsync('edgeseg/cam/stats', JSON.stringify({ seq: 'x', classFractions: 3 }), {
      qos: 1,
    });
    await publisher.publishAsync('edgeseg/cam/stats', JSON.stringify(stats), { qos: 1 });
    const { code, stdout } = await watcher.result;
    assert.equal(code, 0);
    const lines = stdout.trim().split('\n');
    assert.deepEqual(lines, [
      'cam status: online (version 9.9.9, model road@0123456789ab)',
      'cam stats: {"seq":"x","classFractions":3}',
      'cam #7 age 9 ms (queue 1, inference 5 ms)  road 25.0%  background 75.0% | ahead: road 100.0%  background 0.0%',
    ]);
  } finally {
    await publisher.endAsync();
    watcher.child.kill();
  }
});

test('watch --count 2 prints two stats lines of a burst of six, then exits 0', {
  timeout: 60_000,
}, async () => {
  const watcher = startCli(['watch', '--broker', broker.url, '--count', '2'], { timeoutMs: 50_000 });
  let exited = false;
  const result = watcher.result.finally(() => {
    exited = true;
  });
  // Bursts of six go out until watch has taken two lines and exited (it subscribes as it starts).
  const publisher = await mqtt.connectAsync(broker.url);
  try {
    while (!exited) {
      for (let seq = 1; seq <= 6; seq++)
        publisher.publish('edgeseg/cam/stats', JSON.stringify({ ...stats, seq }), { qos: 1 });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await publisher.endAsync();
  }
  const { code, stdout } = await result;
  assert.equal(code, 0);
  // Exactly two lines, both statistics, though six arrive in each burst.
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 2, stdout);
  for (const line of lines) assert.match(line, /^cam #[1-6] age 9 ms/);
});
