// Availability: the retained `status` topic. `online` on every (re)connect and after a model
// switch, `offline` as the Last Will, `stopped` on a clean exit.

import { type AvailabilityState, statusPayload } from '../../mqtt/device.js';
import type { DaemonContext } from '../context.js';
import type { Part } from '../part.js';

export class Availability implements Part {
  readonly name = 'availability';
  private unsubscribe: Array<() => void> = [];

  constructor(private readonly context: DaemonContext) {}

  start(): void {
    const { bus } = this.context;
    this.unsubscribe = [
      bus.subscribe('mqttConnected', () => this.publish('online')),
      bus.subscribe('modelChanged', () => this.publish('online')),
    ];
  }

  stop(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  /** The message the connection sends last, on a clean stop. */
  stoppedMessage(): { topic: string; payload: string } {
    return { topic: this.context.topics.status, payload: this.payload('stopped') };
  }

  payload(state: AvailabilityState): string {
    return statusPayload(state, this.context.config, this.context.model.manifest);
  }

  private publish(state: AvailabilityState): void {
    this.context.connection.publish(
      this.context.topics.status,
      this.payload(state),
      { qos: 1, retain: true, contentType: 'application/json' },
      true,
    );
  }
}
