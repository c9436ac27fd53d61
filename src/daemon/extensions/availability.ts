// Availability: the retained `status` topic. `online` on every (re)connect, after a model switch and
// whenever the source goes up or down; `offline` as the Last Will; `stopped` on a clean exit. Status
// says what is wrong (source down, a rejected remote change, a duplicate device_id) and carries a
// per-run instance id, which is how two processes under one device_id find each other
// (docs/mqtt-api.md, "Duplicate device_id").

import type { z } from 'zod';
import type { SourceState } from '../../capture/types.js';
import type { Config } from '../../config/schema.js';
import type { EngineInfo } from '../../engine/types.js';
import type { ModelManifest } from '../../model/manifest.js';
import { modelId } from '../../model/manifest.js';
import { type StatusPayload, StatusPayloadSchema } from '../../mqtt/payloads.js';
import { edgesegVersion } from '../../system/version.js';
import type { DaemonState } from '../context.js';
import { engineProblems } from '../engine-problems.js';
import { Extension } from '../extension.js';

export type AvailabilityState = 'online' | 'offline' | 'stopped';

/** Status messages larger than this on our topic are not ours to read. */
const MAX_STATUS_BYTES = 8192;
/** What another status message must say for the duplicate check: who, in which state, for whom. */
const StatusIdentitySchema = StatusPayloadSchema.pick({ instanceId: true, state: true, yieldedTo: true });

function parseJson<T>(payload: Buffer, schema: z.ZodType<T>): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(payload.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Stepping aside for another instance: 30 s, doubling up to 10 min, with jitter. */
const YIELD_INITIAL_MS = 30_000;
const YIELD_MAX_MS = 600_000;
/** A duplicate not seen again for this long is no longer reported (it was fixed, or went away). */
const DUPLICATE_FORGET_MS = 15 * 60_000;
/** Source flaps are folded into one status message per this interval. */
const STATUS_DEBOUNCE_MS = 1000;

export interface StatusInputs {
  config: Config;
  manifest: ModelManifest | undefined;
  state: DaemonState;
  source?: SourceState | undefined;
  yieldedTo?: string;
  /** The running engine (none before the model is loaded). */
  engine?: EngineInfo;
}

/** What is wrong with the device, one line each (status and health `problems`). */
export function deviceProblems(
  config: Config,
  state: DaemonState,
  source: SourceState | undefined,
  engine?: EngineInfo,
): string[] {
  const problems: string[] = engine ? engineProblems(config, engine) : [];
  if (source && source.state === 'down') problems.push(`source down: ${source.reason ?? 'no frames'}`);
  if (source?.frameProblem) problems.push(`bad frames: ${source.frameProblem}`);
  if (state.rejectedRemoteConfig)
    problems.push(`remote configuration rejected: ${state.rejectedRemoteConfig.reason}`);
  if (state.engineLost) problems.push(`inference engine lost (${state.engineLost}); reloading the model`);
  if (state.duplicate)
    problems.push(
      `another instance (${state.duplicate.otherInstanceId}) runs under device_id ${config.device_id}`,
    );
  return problems;
}

/** The source state as status and health publish it. */
export function sourceStatus(source: SourceState): NonNullable<StatusPayload['source']> {
  return {
    state: source.state,
    ...(source.reason === undefined ? {} : { reason: source.reason }),
    ...(source.retryAtMs === undefined ? {} : { retryAt: new Date(source.retryAtMs).toISOString() }),
  };
}

export function statusPayload(availability: AvailabilityState, inputs: StatusInputs): string {
  const { config, manifest, state, source, yieldedTo, engine } = inputs;
  const problems = deviceProblems(config, state, source, engine);
  const payload: StatusPayload = {
    state: availability,
    deviceId: config.device_id,
    instanceId: state.instanceId,
    version: edgesegVersion,
    model: manifest ? modelId(manifest) : config.model,
    ...(engine?.int8Kernels ? { int8Kernels: engine.int8Kernels } : {}),
    timestamp: new Date().toISOString(),
    degraded: problems.length > 0,
    problems,
    ...(source ? { source: sourceStatus(source) } : {}),
    ...(state.rejectedRemoteConfig ? { rejectedRemoteConfig: state.rejectedRemoteConfig } : {}),
    ...(yieldedTo ? { yieldedTo } : {}),
  };
  return JSON.stringify(payload);
}

export class Availability extends Extension {
  readonly name = 'availability';
  /** Our own `online` came back from the broker: from now on another instance's status is a conflict. */
  private armed = false;
  private yields = 0;
  private debounce: NodeJS.Timeout | undefined;
  private forgetDuplicate: NodeJS.Timeout | undefined;

  start(): void {
    const { connection, topics } = this.context;
    this.listen('mqttConnected', () => {
      connection.subscribe(topics.status);
      // `online` means ready for requests: it goes out once the other parts' subscriptions (made
      // in this same event) are acknowledged, so a request sent on seeing it is never lost.
      setImmediate(() => {
        void connection.subscriptionsSettled().then(() => {
          if (connection.connected) this.publish('online');
        });
      });
    });
    this.listen('modelChanged', () => this.publish('online'));
    this.listen('stateChanged', () => this.publishSoon());
    this.listen('mqttMessage', (topic, payload) => {
      if (topic === topics.status) this.onStatus(payload);
    });
  }

  override stop(): void {
    clearTimeout(this.debounce);
    clearTimeout(this.forgetDuplicate);
    this.unregister();
  }

  /** The message the connection sends last, on a clean stop. */
  stoppedMessage(): { topic: string; payload: string } {
    return { topic: this.context.topics.status, payload: this.payload('stopped') };
  }

  payload(availability: AvailabilityState, yieldedTo?: string): string {
    const { config, model, state, pipeline } = this.context;
    return statusPayload(availability, {
      config,
      manifest: model.manifest,
      engine: model.info,
      state,
      source: pipeline.sourceState(),
      ...(yieldedTo ? { yieldedTo } : {}),
    });
  }

  private publishSoon(): void {
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (this.context.connection.connected) this.publish('online');
    }, STATUS_DEBOUNCE_MS);
  }

  private publish(availability: AvailabilityState): void {
    this.context.connection.publish(this.context.topics.status, this.payload(availability), {
      qos: 1,
      retain: true,
      contentType: 'application/json',
    });
  }

  /** A message on our own status topic: our echo, or another instance under our device_id. */
  private onStatus(payload: Buffer): void {
    if (payload.length === 0 || payload.length > MAX_STATUS_BYTES) return;
    // Messages still arriving on a connection this instance is leaving say nothing new.
    if (this.context.connection.stats().suspendedUntilMs > Date.now()) return;
    const status = parseJson(payload, StatusIdentitySchema);
    if (!status) return;
    const { state, logger, bus, config } = this.context;
    const other = status.instanceId;
    if (other === state.instanceId) {
      if (status.state === 'online') this.armed = true;
      return;
    }
    // The other instance stepped aside for this one: it names us, so it is no stale message.
    const weYield = status.yieldedTo !== state.instanceId;
    // Before our own online came back, another instance's status is what the broker kept from an earlier run.
    if (!this.armed && weYield) return;
    const otherId = other.slice(0, 64);
    const previous = state.duplicate;
    state.duplicate = {
      otherInstanceId: otherId,
      detectedAt: previous?.otherInstanceId === otherId ? previous.detectedAt : new Date().toISOString(),
      conflicts: (previous?.conflicts ?? 0) + 1,
      yielded: weYield,
    };
    this.context.bursts.error(
      'duplicate-device',
      `another edgeseg instance runs with device_id ${config.device_id}; give each device its own device_id`,
      { instanceId: state.instanceId, otherInstanceId: otherId, yielding: weYield },
    );
    bus.emit('stateChanged');
    clearTimeout(this.forgetDuplicate);
    this.forgetDuplicate = setTimeout(() => {
      state.duplicate = undefined;
      this.yields = 0;
      bus.emit('stateChanged');
    }, DUPLICATE_FORGET_MS);
    this.forgetDuplicate.unref();
    // The other one stepped aside for us: stay, and keep reporting the duplicate.
    if (!weYield) return;
    const delayMs = Math.round(
      Math.min(YIELD_MAX_MS, YIELD_INITIAL_MS * 2 ** this.yields++) * (0.75 + Math.random() * 0.5),
    );
    logger.error({ delayMs }, 'stepping aside for the other instance before connecting again');
    this.armed = false;
    this.context.connection.suspend(delayMs, {
      topic: this.context.topics.status,
      payload: this.payload('offline', otherId),
    });
  }
}
