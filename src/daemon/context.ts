// What the daemon's parts share: the live config, the event bus, the MQTT connection and request
// router, the running model and the pipeline's counters. The controller builds one and hands it to
// every extension; nothing deep inside reaches out to global state.

import type { FrameSourceStats, SourceState } from '../capture/types.js';
import type { RejectedRemoteConfig } from '../config/remote-store.js';
import type { Config } from '../config/schema.js';
import type { EngineInfo } from '../engine/types.js';
import type { ModelManifest } from '../model/manifest.js';
import type { MqttConnection } from '../mqtt/connection.js';
import type { RequestRouter } from '../mqtt/requests.js';
import type { Topics } from '../mqtt/topics.js';
import type { FrameLoopStats } from '../pipeline/frame-loop.js';
import type { BurstLogger } from '../system/burst-log.js';
import type { Logger } from '../system/log.js';
import type { SdNotifier } from '../system/sd-notify.js';
import type { EventBus } from './event-bus.js';

/** Another instance seen under this device_id (docs/mqtt-api.md, "Duplicate device_id"). */
export interface DuplicateReport {
  otherInstanceId: string;
  detectedAt: string;
  /** Times this instance saw the other one. */
  conflicts: number;
  /** This instance went offline for a while so that the other one could stay. */
  yielded: boolean;
}

/** What the device says about itself in status and health beyond counters; changes emit stateChanged. */
export interface DaemonState {
  /** Random per run: tells two processes under one device_id apart. */
  readonly instanceId: string;
  rejectedRemoteConfig: RejectedRemoteConfig | undefined;
  duplicate: DuplicateReport | undefined;
  /** Set while the inference engine is being reloaded after it died by itself. */
  engineLost: string | undefined;
}

/** The pipeline as the extensions see it: counters and the few controls requests may use. */
export interface PipelineView {
  loopStats(): FrameLoopStats | undefined;
  sourceStats(): FrameSourceStats | undefined;
  sourceState(): SourceState;
  readonly paused: boolean;
  setPaused(paused: boolean): void;
}

/** Another model, loaded and warmed, not yet running. */
export interface PreparedModel {
  /** Swaps it in between two frames and releases the old one (emits modelChanged). */
  activate(): Promise<void>;
  /** Releases it unused. */
  discard(): Promise<void>;
}

/** The running model, and how to replace it: load and warm first, then swap. */
export interface ModelView {
  readonly manifest: ModelManifest;
  readonly info: EngineInfo;
  prepare(modelDir: string): Promise<PreparedModel>;
}

export interface DaemonContext {
  /** The running config; replaced as a whole by an accepted config/set. */
  readonly config: Config;
  readonly logger: Logger;
  readonly bursts: BurstLogger;
  readonly topics: Topics;
  readonly bus: EventBus;
  readonly connection: MqttConnection;
  readonly requests: RequestRouter;
  readonly sd: SdNotifier;
  readonly pipeline: PipelineView;
  readonly model: ModelView;
  readonly state: DaemonState;
  /** Replaces the running config and tells every part (configChanged). */
  applyConfig(next: Config): void;
}
