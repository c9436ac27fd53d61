// Info: the retained `info` topic (zigbee2mqtt's bridge/info): version, model and classes,
// capabilities, the source (credentials removed) and the outputs; published on every (re)connect
// and again after a model switch or a configuration change.

import { infoPayload } from '../../mqtt/info.js';
import { Extension } from '../extension.js';

export class Info extends Extension {
  readonly name = 'info';

  start(): void {
    this.listen('mqttConnected', () => this.publish());
    this.listen('modelChanged', () => this.publish());
    this.listen('configChanged', () => this.publish());
  }

  private publish(): void {
    const { config, model, topics, requests } = this.context;
    const payload = infoPayload({
      config,
      manifest: model.manifest,
      engine: model.info,
      topics,
      requests: requests.names,
    });
    this.publishJson(topics.info, payload, { retain: true });
  }
}
