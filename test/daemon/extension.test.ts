// The extension base and the event bus: an extension's stop() undoes every listener and request
// handler its start() registered, and a listener that throws harms neither the part that emitted
// nor the listeners after it; its error is reported under the extension's name.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DaemonContext } from '../../src/daemon/context.js';
import { EventBus } from '../../src/daemon/event-bus.js';
import { Extension } from '../../src/daemon/extension.js';
import { EmptyRequestSchema, RequestRouter } from '../../src/mqtt/requests.js';

class Probe extends Extension {
  readonly name = 'probe';
  seen: string[] = [];
  start(): void {
    this.listen('stateChanged', () => this.seen.push('state'));
    this.listen('mqttConnected', () => this.seen.push('connected'));
    this.answer('probe/ping', EmptyRequestSchema, async () => ({ pong: true }));
  }
}

class Faulty extends Extension {
  readonly name = 'faulty';
  start(): void {
    this.listen('stateChanged', () => {
      throw new Error('listener bug');
    });
  }
}

function contextWith(bus: EventBus, requests: RequestRouter): DaemonContext {
  // Only what the base class touches; the rest of the context is never read here.
  return { bus, requests } as unknown as DaemonContext;
}

test('stop() removes every listener and request handler the extension registered, and can be called twice', async () => {
  const bus = new EventBus((_owner, _event, error) => {
    throw error;
  });
  const requests = new RequestRouter(4096);
  const probe = new Probe(contextWith(bus, requests));
  probe.start();
  bus.emit('stateChanged');
  assert.deepEqual(probe.seen, ['state']);
  assert.equal(bus.listenerCount('mqttConnected'), 1);
  assert.ok(requests.names.includes('probe/ping'));
  await probe.stop();
  await probe.stop();
  bus.emit('stateChanged');
  bus.emit('mqttConnected');
  assert.deepEqual(probe.seen, ['state']);
  assert.equal(bus.listenerCount('stateChanged'), 0);
  assert.equal(bus.listenerCount('mqttConnected'), 0);
  assert.ok(!requests.names.includes('probe/ping'));
});

test('a throwing listener is reported under its extension; the emitter and the next listener go on', () => {
  const reported: string[] = [];
  const bus = new EventBus((owner, event, error) =>
    reported.push(`${owner} ${event} ${(error as Error).message}`),
  );
  const requests = new RequestRouter(4096);
  new Faulty(contextWith(bus, requests)).start();
  const probe = new Probe(contextWith(bus, requests));
  probe.start();
  assert.doesNotThrow(() => bus.emit('stateChanged'));
  assert.deepEqual(probe.seen, ['state']);
  assert.deepEqual(reported, ['faulty stateChanged listener bug']);
});
