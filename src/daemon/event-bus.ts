// Typed events between daemon parts that must not import each other (zigbee2mqtt's eventBus): a
// part emits what happened, the parts that care subscribe in start() and unsubscribe in stop()
// (daemon/extension.ts does both for the extensions); each listener runs isolated from the others.

import { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.js';
import type { EngineInfo } from '../engine/types.js';
import type { ModelManifest } from '../model/manifest.js';
import type { StatsPayload } from '../mqtt/payloads.js';
import type { ProcessedFrame } from '../pipeline/frame-loop.js';

export interface ModelChange {
  manifest: ModelManifest;
  info: EngineInfo;
}

export interface DaemonEvents {
  /** A frame came out of inference (its buffers are valid during the synchronous handlers only). */
  frameProcessed: [ProcessedFrame];
  /** The statistics of a processed frame, as the `stats` topic carries them (also when it is off). */
  frameStats: [StatsPayload];
  /** The MQTT connection is up (first time or again): subscribe and publish retained state. */
  mqttConnected: [];
  /**
   * A message on a subscribed topic; the payload is untrusted bytes. `retained`: a stored message
   * the broker replayed on subscribe (at every start and reconnect), not one just published.
   */
  mqttMessage: [topic: string, payload: Buffer, retained: boolean];
  /** The running config changed (a config/set applied live). */
  configChanged: [config: Config, previous: Config];
  /** Another model replaced the running one. */
  modelChanged: [ModelChange];
  /** The frame source went up or down, or DaemonState changed: status is due again. */
  stateChanged: [];
}

/** Told when a listener throws: which part's listener, on which event. */
export type ListenerErrorHandler = (owner: string, event: keyof DaemonEvents, error: unknown) => void;

export class EventBus extends EventEmitter<DaemonEvents> {
  /** `onListenerError` hears what a listener throws; the other listeners and the emitter go on. */
  constructor(private readonly onListenerError: ListenerErrorHandler) {
    super();
  }

  /**
   * Subscribes `owner`'s listener and returns the matching unsubscribe, for a part's stop(). The
   * listener runs isolated (zigbee2mqtt's bus): an error in one part's listener reaches neither the
   * part that emitted the event nor the listeners after it, and is reported under `owner`.
   */
  subscribe<K extends keyof DaemonEvents>(
    event: K,
    listener: (...args: DaemonEvents[K]) => void,
    owner: string,
  ): () => void {
    const isolated = (...args: DaemonEvents[K]) => {
      try {
        listener(...args);
      } catch (error) {
        this.onListenerError(owner, event, error);
      }
    };
    // EventEmitter's typings cannot relate a generic K to the listener's arguments.
    const emitter = this as EventEmitter;
    emitter.on(event, isolated as (...args: unknown[]) => void);
    return () => emitter.off(event, isolated as (...args: unknown[]) => void);
  }
}
