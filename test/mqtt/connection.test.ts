// The MQTT connection against a real mosquitto, through a TCP proxy the test can stall and cut: a
// publish left unacknowledged by a lost connection must not be replayed on the next one.

import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { ConfigSchema } from '../../src/config/schema.js';
import { MqttConnection } from '../../src/mqtt/connection.js';
import { silentLogger } from '../../src/system/log.js';
import { Mosquitto, retainedMessages } from '../helpers/mosquitto.js';

/** Forwards loopback TCP to the broker; stall() holds what the broker sends, cut() drops every link. */
class StallingProxy {
  private readonly links = new Set<{ client: Socket; upstream: Socket }>();
  stalled = false;
  private constructor(private readonly server: Server) {}

  static async start(target: URL): Promise<StallingProxy> {
    const server = createServer();
    const proxy = new StallingProxy(server);
    server.on('connection', (client) => proxy.link(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.server.address();
    return `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  private link(client: Socket, target: URL): void {
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(Number(target.port), target.hostname);
    const link = { client, upstream };
    this.links.add(link);
    client.on('data', (chunk) => upstream.write(chunk));
    // While stalled, acknowledgements from the broker never reach the client.
    upstream.on('data', (chunk) => {
      if (!this.stalled) client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.links.delete(link);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  cut(): void {
    // Also a link still connecting: its sockets are in the set from the start.
    for (const { client, upstream } of this.links) {
      client.destroy();
      upstream.destroy();
    }
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const until = async (what: string, check: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const broker = await Mosquitto.start();
after(() => broker.stop());

test('a retained publish left unacknowledged by a lost connection is not replayed on the next one', {
  timeout: 60_000,
}, async () => {
  const proxy = await StallingProxy.start(new URL(broker.url));
  after(() => proxy.close());
  const settings = ConfigSchema.shape.mqtt.parse({ url: proxy.url, reconnect_period_ms: 200 });
  let connects = 0;
  const connection = new MqttConnection(
    settings,
    'edgeseg-replay-test',
    { topic: 'replay/will', payload: 'gone' },
    { onConnect: () => connects++, onMessage: () => {} },
    silentLogger,
  );
  try {
    connection.start();
    await until('the first connect', () => connects === 1);
    // The broker takes this publish, but its PUBACK never comes back: the connection then dies.
    proxy.stalled = true;
    connection.publish('replay/status', 'stale', { qos: 1, retain: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    proxy.cut();
    proxy.stalled = false;
    // Meanwhile someone else says something newer on the topic (another instance stepping aside).
    const other = await import('mqtt').then(({ default: mqtt }) => mqtt.connectAsync(broker.url));
    await other.publishAsync('replay/status', 'newer', { qos: 1, retain: true });
    await other.endAsync();
    await until('the reconnect', () => connects === 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const retained = await retainedMessages(broker.url, 'replay/#');
    assert.equal(retained.get('replay/status')?.toString(), 'newer', 'the stale publish was sent again');
  } finally {
    await connection.stop();
  }
});
