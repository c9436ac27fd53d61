// `online` means ready for requests: a broker that is slow to acknowledge the daemon's request
// subscription (aedes with a 1.5 s authorizeSubscribe) must not let a request sent the moment
// `online` arrives fall on no subscriber. Fails when the status goes out before the SUBACK.

import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { makeModelsDir, startDaemonProcess, testConfig, writeConfig } from '../helpers/daemon.js';
import { makeTempDir } from '../helpers/tmp.js';

test('a request sent on seeing online is answered, even when the broker is slow to acknowledge subscriptions', {
  timeout: 120_000,
}, async () => {
  const broker = await Aedes.createBroker({
    authorizeSubscribe: (_client, subscription, callback) => {
      const slow = subscription.topic.includes('/request/');
      setTimeout(() => callback(null, subscription), slow ? 1500 : 0);
    },
  });
  const server: Server = createServer(broker.handle as unknown as (socket: Socket) => void);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const dir = await makeTempDir();
  await makeModelsDir(dir);
  const config = testConfig(dir, url, { mqtt: { url, protocol_version: 4, reconnect_period_ms: 300 } });
  const base = `edgeseg/${config.device_id}`;
  const client = mqtt.connect(url, { protocolVersion: 4 });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  await client.subscribeAsync([`${base}/status`, `${base}/response/#`]);
  const daemon = startDaemonProcess(await writeConfig(join(dir, 'config.yaml'), config));
  try {
    const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to health; log:\n${daemon.stderr()}`)),
        20_000,
      );
      client.on('message', (topic, payload) => {
        if (topic === `${base}/status` && JSON.parse(payload.toString()).state === 'online')
          client.publish(`${base}/request/health`, JSON.stringify({ transaction: 'first' }), { qos: 1 });
        if (topic === `${base}/response/health`) {
          clearTimeout(timer);
          resolve(JSON.parse(payload.toString()) as Record<string, unknown>);
        }
      });
    });
    const response = await answered;
    assert.equal(response.transaction, 'first');
    assert.equal(response.status, 'ok');
  } finally {
    daemon.kill();
    await daemon.exited;
    client.end(true);
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
