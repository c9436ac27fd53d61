// Typed events between daemon parts that must not import each other (zigbee2mqtt's eventBus): a
// part emits what happened, the parts that care subscribe in start() and unsubscribe in stop().

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

export class EventBus extends EventEmitter<DaemonEvents> {
  /** Subscribes and returns the matching unsubscribe, for a part's stop(). */
  subscribe<K extends keyof DaemonEvents>(
    event: K,
    listener: (...args: DaemonEvents[K]) => void,
  ): () => void {
    // EventEmitter's typings cannot relate a generic K to the listener's arguments.
    const emitter = this as EventEmitter;
    emitter.on(event, listener);
    return () => emitter.off(event, listener);
  }
}
