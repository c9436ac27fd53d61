// The base of every behaviour under extensions/ (zigbee2mqtt's Extension): bus listeners and
// request handlers are registered through it, so stop() undoes everything start() registered and
// no extension keeps its own list; JSON publishes share one set of options. An extension with timers
// or children of its own overrides stop() and calls super.stop().

import type { z } from 'zod';
import type { RequestHandler } from '../mqtt/requests.js';
import type { DaemonContext } from './context.js';
import type { DaemonEvents } from './event-bus.js';
import type { Part } from './part.js';

export abstract class Extension implements Part {
  abstract readonly name: string;
  /** What start() registered, undone newest first by stop(). */
  private registered: Array<() => void> = [];

  constructor(protected readonly context: DaemonContext) {}

  abstract start(): Promise<void> | void;

  stop(): Promise<void> | void {
    this.unregister();
  }

  /** Calls `listener` on `event` until stop(); what it throws is logged under this extension's name. */
  protected listen<K extends keyof DaemonEvents>(
    event: K,
    listener: (...args: DaemonEvents[K]) => void,
  ): void {
    this.registered.push(this.context.bus.subscribe(event, listener, this.name));
  }

  /** Answers the request `name` until stop(). */
  protected answer<S extends z.ZodType>(name: string, schema: S, handler: RequestHandler<z.output<S>>): void {
    this.context.requests.on(name, schema, handler);
    this.registered.push(() => this.context.requests.off(name));
  }

  /** Publishes `payload` as JSON: retained for state (status, info, config), not for events. */
  protected publishJson(
    topic: string,
    payload: unknown,
    options: { retain: boolean; qos?: 0 | 1 | 2 },
  ): void {
    this.context.connection.publish(topic, JSON.stringify(payload), {
      qos: options.qos ?? 1,
      retain: options.retain,
      contentType: 'application/json',
    });
  }

  /** Undoes every listen() and answer(). Idempotent. */
  protected unregister(): void {
    for (const undo of this.registered.splice(0).reverse()) undo();
  }
}
