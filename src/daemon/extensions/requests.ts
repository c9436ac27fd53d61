// Requests: subscribes to <base>/request/# and answers each request on <base>/response/<name>
// through the router, whose handlers the other extensions register (config, control, health,
// frames). The router turns every failure into an error response. A retained request is never
// executed: the broker would replay it at every start and reconnect (a device paused after each
// broker blip); it is logged with how to clear it.

import { errorMessage } from '../../system/errors.js';
import { Extension } from '../extension.js';

export class Requests extends Extension {
  readonly name = 'requests';

  start(): void {
    const { connection, topics } = this.context;
    this.listen('mqttConnected', () => connection.subscribe(topics.requestWildcard));
    this.listen('mqttMessage', (topic, payload, retained) => void this.handle(topic, payload, retained));
  }

  private async handle(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const { topics, requests, bursts } = this.context;
    if (!topic.startsWith(topics.requestPrefix)) return;
    const name = topic.slice(topics.requestPrefix.length);
    if (retained) {
      const shown = topic.slice(0, 300);
      bursts.warn('retained-request', 'retained request ignored: requests must be published without retain', {
        topic: shown,
        hint: `clear it: mosquitto_pub -r -n -t '${shown}'`,
      });
      return;
    }
    try {
      const response = await requests.handle(name, payload);
      this.context.logger.debug({ request: name.slice(0, 200), status: response.status }, 'request answered');
      if (response.status === 'error')
        bursts.warn(`request:${name.slice(0, 64)}`, 'request refused', {
          request: name.slice(0, 200),
          err: response.error,
        });
      this.publishJson(topics.response(name), response, { retain: false });
    } catch (error) {
      // The router answers every request; this is the last guard that keeps a message from ending the process.
      bursts.error('request-path', 'answering a request failed', { err: errorMessage(error) });
    }
  }
}
