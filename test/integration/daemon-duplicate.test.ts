// Two daemons started with the same device_id (and so the same MQTT client id) take the connection
// from each other. Each must notice the other through the instance id in the retained status, say
// so in its log and health, and one must step aside instead of flapping every reconnect period.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { HealthPayloadSchema } from '../../src/mqtt/payloads.js';
import { json, startDaemonProcess, testConfig, useDaemonSuite, writeConfig } from '../helpers/daemon.js';
import { Recorder } from '../helpers/mosquitto.js';

const DEVICE = 'cam-twin';
const BASE = `edgeseg/${DEVICE}`;
const OBSERVE_MS = 15_000;
const suite = useDaemonSuite();

test('a duplicate device_id is detected, reported, and one instance steps aside instead of flapping', {
  timeout: 180_000,
}, async () => {
  const recorder = await Recorder.connect(suite.broker.url, [`${BASE}/status`, `${BASE}/response/#`]);
  const config = (name: string) =>
    writeConfig(
      join(suite.dir, `${name}.yaml`),
      testConfig(suite.dir, suite.broker.url, {
        device_id: DEVICE,
        state_dir: join(suite.dir, `state-${name}`),
        // A short reconnect period: without a back-off they would take the id from each other every 300 ms.
        mqtt: { url: suite.broker.url, reconnect_period_ms: 300 },
      }),
    );
  const first = startDaemonProcess(await config('a'));
  const second = startDaemonProcess(await config('b'));
  try {
    const onlineFrom = (since = 0) =>
      recorder.messages
        .filter((m) => m.topic === `${BASE}/status` && m.receivedAt >= since)
        .map((m) => json(m.payload))
        .filter((status) => status.state === 'online');
    // Both have come up once.
    const deadline = Date.now() + 60_000;
    while (new Set(onlineFrom().map((s) => s.instanceId)).size < 2 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const yielded = await recorder.waitFor(
      (m) => m.topic === `${BASE}/status` && typeof json(m.payload).yieldedTo === 'string',
      30_000,
      true,
    );
    const yielder = json(yielded.payload);
    const instances = new Set([yielder.instanceId, yielder.yieldedTo]);
    // The one that stepped aside stays away at least 22.5 s (30 s with jitter): watch 15 s of that.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, yielded.receivedAt + OBSERVE_MS - Date.now())),
    );
    // A takeover shows as the online instance changing from one message to the next.
    const sequence = onlineFrom(yielded.receivedAt)
      .filter((status) => status.timestamp !== undefined)
      .map((status) => status.instanceId);
    const takeovers = sequence.filter((id, i) => i > 0 && id !== sequence[i - 1]).length;
    // Once one stepped aside (for 30 s at least), the other keeps the connection.
    assert.ok(takeovers <= 1, `${takeovers} takeovers in ${OBSERVE_MS} ms after one instance stepped aside`);
    const health = HealthPayloadSchema.parse(
      (await recorder.request(BASE, 'health', {}, 'dup-health')).data as Record<string, unknown>,
    );
    const trace = () =>
      recorder.messages
        .filter((m) => m.topic === `${BASE}/status`)
        .map((m) => {
          const status = json(m.payload);
          return `${m.receivedAt % 100000} ${status.state} ${status.instanceId}${status.yieldedTo ? ` yieldedTo ${status.yieldedTo}` : ''}`;
        })
        .join('\n');
    assert.ok(
      health.duplicate,
      `the instance that answers (${health.instanceId}) reports the duplicate; statuses:\n${trace()}\nlogs:\n${first.stderr().slice(-4000)}\n---\n${second.stderr().slice(-4000)}`,
    );
    assert.notEqual(health.duplicate.otherInstanceId, health.instanceId);
    assert.ok(instances.has(health.instanceId) && instances.has(health.duplicate.otherInstanceId));
    assert.equal(health.degraded, true);
    assert.match(health.problems.join('\n'), /another instance .* runs under device_id cam-twin/);
    const logs = first.stderr() + second.stderr();
    assert.match(logs, /another edgeseg instance runs with device_id cam-twin/);
    process.stderr.write(
      `duplicate: ${takeovers} takeovers in ${OBSERVE_MS / 1000} s after the step aside\n`,
    );
  } finally {
    first.kill();
    second.kill();
    recorder.end();
  }
});
