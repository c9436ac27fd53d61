// Info: the retained `info` topic (zigbee2mqtt's bridge/info): version, model and classes,
// capabilities, the source (credentials removed) and the outputs; published on every (re)connect
// and again after a model switch or a configuration change.

import { infoPayload } from '../../mqtt/info.js';
import type { DaemonContext } from '../context.js';
import type { Part } from '../part.js';

export class Info implements Part {
  readonly name = 'info';
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly context: DaemonContext) {}

  start(): void {
    const { bus } = this.context;
    this.unsubscribe = [
      bus.subscribe('mqttConnected', () => this.publish()),
      bus.subscribe('modelChanged', () => this.publish()),
      bus.subscribe('configChanged', () => this.publish()),
    ];
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  private publish(): void {
    const { config, model, topics, requests, connection } = this.context;
    const payload = infoPayload({
      config,
      manifest: model.manifest,
      engine: model.info,
      topics,
      requests: requests.names,
    });
    connection.publish(topics.info, JSON.stringify(payload), {
      qos: 1,
      retain: true,
      contentType: 'application/json',
    });
  }
}
