// Requests: subscribes to <base>/request/# and answers each request on <base>/response/<name>
// through the router, whose handlers the other extensions register (config, control, health,
// frames). The router turns every failure into an error response.

import type { DaemonContext } from '../context.js';
import type { Part } from '../part.js';

export class Requests implements Part {
  readonly name = 'requests';
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly context: DaemonContext) {}

  start(): void {
    const { bus, connection, topics } = this.context;
    this.unsubscribe = [
      bus.subscribe('mqttConnected', () => connection.subscribe(topics.requestWildcard)),
      bus.subscribe('mqttMessage', (topic, payload) => void this.handle(topic, payload)),
    ];
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  private async handle(topic: string, payload: Buffer): Promise<void> {
    const { topics, requests, connection, bursts } = this.context;
    if (!topic.startsWith(topics.requestPrefix)) return;
    const name = topic.slice(topics.requestPrefix.length);
    const response = await requests.handle(name, payload);
    if (response.status === 'error')
      bursts.warn(`request:${name}`, 'request refused', { request: name, err: response.error });
    connection.publish(topics.response(name), JSON.stringify(response), {
      qos: 1,
      retain: false,
      contentType: 'application/json',
    });
  }
}
