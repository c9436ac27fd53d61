// The daemon controller: wires config, engine, frame source, frame loop, MQTT and systemd together
// in one place; starts the parts in order and stops them in reverse (zigbee2mqtt's controller).

import sharp from 'sharp';
import { createFrameSource } from '../capture/create.js';
import type { FrameSource } from '../capture/types.js';
import {
  type ConfigPatch,
  isPlainObject,
  mergePatch,
  persistRemoteConfig,
  stripSecrets,
  validateConfig,
} from '../config/load.js';
import { type Config, RESTART_KEYS } from '../config/schema.js';
import { createEngine } from '../engine/create.js';
import { Segmenter } from '../engine/segmenter.js';
import type { InferenceEngine } from '../engine/types.js';
import { MqttConnection } from '../mqtt/connection.js';
import type { HealthPayload } from '../mqtt/payloads.js';
import { RequestRouter } from '../mqtt/requests.js';
import { type Topics, topicsFor } from '../mqtt/topics.js';
import { BurstLogger } from '../system/burst-log.js';
import { UserError } from '../system/errors.js';
import { readSystemHealth } from '../system/health.js';
import type { Logger } from '../system/log.js';
import { createSdNotifier, type SdNotifier } from '../system/sd-notify.js';
import { edgesegVersion } from '../system/version.js';
import { engineOptionsFromConfig } from './engine-config.js';
import { FrameLoop } from './frame-loop.js';
import { FramePublisher, modelId } from './publisher.js';

export interface DaemonOptions {
  config: Config;
  /** Config file + environment, before remote changes (for validating patches). */
  base: ConfigPatch;
  /** Remote changes accepted so far (persisted under state_dir). */
  remote: ConfigPatch;
  logger: Logger;
}

export class Daemon {
  private config: Config;
  private remote: ConfigPatch;
  private readonly logger: Logger;
  private readonly bursts: BurstLogger;
  private readonly topics: Topics;
  private engine: InferenceEngine | undefined;
  private loop: FrameLoop | undefined;
  private source: FrameSource | undefined;
  private connection: MqttConnection | undefined;
  private publisher: FramePublisher | undefined;
  private sd: SdNotifier | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly router: RequestRouter;
  private started = false;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: DaemonOptions) {
    this.config = options.config;
    this.remote = options.remote;
    this.logger = options.logger;
    this.bursts = new BurstLogger(this.logger);
    this.topics = topicsFor(this.config.mqtt.base_topic, this.config.device_id);
    this.router = new RequestRouter(this.config.mqtt.max_payload_bytes)
      .on('config/get', async () => ({ config: stripSecrets(this.config) }))
      .on('config/set', (request) => this.configSet(request))
      .on('pause', async () => this.setPaused(true))
      .on('resume', async () => this.setPaused(false))
      .on('snapshot', async () => {
        this.publisher?.requestSnapshot();
        return { topic: this.topics.snapshot };
      })
      .on('health', async () => this.healthPayload());
  }

  get topicNames(): Topics {
    return this.topics;
  }

  /** Loads and warms the model, connects MQTT, starts capture, then tells systemd READY=1. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { config, logger } = this;
    // libvips' operation cache helps batch jobs, not a months-long daemon: keep memory flat.
    sharp.cache(false);
    this.sd = await createSdNotifier();
    this.engine = await this.startEngine(config.model);
    const segmenter = new Segmenter(this.engine);
    await segmenter.ready();
    const { manifest, info } = this.engine;
    logger.info(
      {
        model: modelId(manifest),
        runtime: info.runtime,
        provider: info.provider,
        fallbacks: info.fallbackReasons,
      },
      'model warm',
    );

    this.connection = new MqttConnection(
      config.mqtt,
      config.mqtt.client_id ?? `edgeseg-${config.device_id}`,
      { topic: this.topics.status, payload: this.statusPayload('offline') },
      {
        onConnect: (connection) => this.onConnect(connection),
        onMessage: (topic, payload) => void this.onMessage(topic, payload),
      },
      logger,
    );
    this.publisher = new FramePublisher(config, manifest, this.connection, this.topics, logger);
    this.loop = new FrameLoop(segmenter);
    this.loop.on('processed', (processed) => {
      try {
        this.publisher!.publish(processed);
      } catch (error) {
        this.bursts.warn('publish', 'publishing a frame failed', { err: (error as Error).message });
      }
    });
    this.loop.on('frameError', (error) =>
      this.bursts.warn('frame', 'frame failed; skipped', { err: error.message }),
    );

    this.source = createFrameSource(config.source, {
      width: config.capture.width,
      height: config.capture.height,
      fps: config.fps,
      loop: config.capture.loop,
      stallTimeoutMs: config.capture.stall_timeout_ms,
      backoff: { initialMs: config.capture.backoff_initial_ms, maxMs: config.capture.backoff_max_ms },
      backend: config.capture.backend,
      logger,
    });
    this.source.on('frame', (frame) => this.loop!.offer(frame));
    this.source.on('error', (error) =>
      this.bursts.warn('source', 'frame source problem', { err: error.message }),
    );

    this.loop.start();
    this.connection.start();
    await this.source.start();
    this.startTimers();
    this.sd.ready();
    this.sd.status(`segmenting ${config.source} with ${manifest.name} (${info.provider})`);
    logger.info({ source: config.source, topics: this.topics.base }, 'edgeseg daemon running');
  }

  /** Drains the frame in flight, publishes `stopped`, disconnects; parts stop in reverse order. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.sd?.stopping();
      for (const timer of this.timers) clearInterval(timer);
      await this.source?.stop();
      await this.loop?.stop();
      await this.connection?.stop({
        topic: this.topics.status,
        payload: this.statusPayload('stopped'),
        options: { qos: 1, retain: true },
      });
      await this.engine?.stop();
      this.logger.info('edgeseg daemon stopped');
    })();
    return this.stopping;
  }

  private async startEngine(modelDir: string): Promise<InferenceEngine> {
    const instance = await createEngine(modelDir, engineOptionsFromConfig(this.config, this.logger));
    await instance.start();
    return instance;
  }

  private onConnect(connection: MqttConnection): void {
    connection.subscribe(this.topics.requestWildcard);
    connection.publish(
      this.topics.status,
      this.statusPayload('online'),
      { qos: 1, retain: true, contentType: 'application/json' },
      true,
    );
    this.publishConfig();
  }

  private publishConfig(): void {
    this.connection?.publish(
      this.topics.config,
      JSON.stringify(stripSecrets(this.config)),
      { qos: 1, retain: true, contentType: 'application/json' },
      true,
    );
  }

  private async onMessage(topic: string, payload: Buffer): Promise<void> {
    if (!topic.startsWith(this.topics.requestPrefix)) return;
    const name = topic.slice(this.topics.requestPrefix.length);
    const response = await this.router.handle(name, payload);
    if (response.status === 'error')
      this.bursts.warn(`request:${name}`, 'request refused', { request: name, err: response.error });
    this.connection?.publish(this.topics.response(name), JSON.stringify(response), {
      qos: 1,
      retain: false,
      contentType: 'application/json',
    });
  }

  private statusPayload(state: 'online' | 'offline' | 'stopped'): string {
    const manifest = this.engine?.manifest;
    return JSON.stringify({
      state,
      deviceId: this.config.device_id,
      version: edgesegVersion,
      ...(manifest ? { model: modelId(manifest) } : { model: this.config.model }),
      timestamp: new Date().toISOString(),
    });
  }

  private setPaused(paused: boolean): { paused: boolean } {
    this.loop?.setPaused(paused);
    return { paused };
  }

  private async configSet(request: Record<string, unknown>): Promise<unknown> {
    const patch = request.config;
    if (!isPlainObject(patch))
      throw new UserError(
        'config: expected an object with the options to change, e.g. {"config": {"fps": 5}}',
      );
    const remote = mergePatch(this.remote, patch) as ConfigPatch;
    const next = validateConfig(mergePatch(this.options.base, remote), 'config');
    const restartKeys = RESTART_KEYS.filter(
      (key) => JSON.stringify(next[key]) !== JSON.stringify(this.config[key]),
    );
    // A model switch loads and warms the new model before anything changes.
    let newEngine: InferenceEngine | undefined;
    let newSegmenter: Segmenter | undefined;
    if (next.model !== this.config.model) {
      newEngine = await this.startEngine(next.model);
      newSegmenter = new Segmenter(newEngine);
      await newSegmenter.ready();
    }
    try {
      await persistRemoteConfig(this.config.state_dir, remote);
    } catch (error) {
      await newEngine?.stop();
      throw new UserError(
        `could not save the configuration under ${this.config.state_dir} (${(error as Error).message}); nothing changed`,
      );
    }
    this.remote = remote;
    // Keys that need a restart keep their running values until then.
    const live = { ...next };
    for (const key of restartKeys) (live as Record<string, unknown>)[key] = this.config[key];
    this.config = live as Config;
    if (newEngine && newSegmenter && this.loop) {
      const old = this.engine;
      await this.loop.replaceSegmenter(newSegmenter);
      this.engine = newEngine;
      await old?.stop();
      this.connection?.publish(
        this.topics.status,
        this.statusPayload('online'),
        { qos: 1, retain: true, contentType: 'application/json' },
        true,
      );
    }
    this.source?.setFpsLimit(this.config.fps);
    if (this.engine) this.publisher?.update(this.config, this.engine.manifest);
    this.publishConfig();
    return { config: stripSecrets(this.config), restartRequired: restartKeys.length > 0, restartKeys };
  }

  private startTimers(): void {
    const { health } = this.config.publish;
    const healthTimer = setInterval(() => {
      if (!this.config.publish.health.enabled) return;
      void this.healthPayload().then((payload) =>
        this.connection?.publish(this.topics.health, JSON.stringify(payload), {
          qos: this.config.publish.health.qos,
          retain: this.config.publish.health.retain,
          contentType: 'application/json',
        }),
      );
    }, health.interval_ms);
    this.timers.push(healthTimer);
    const interval = this.sd?.watchdogIntervalMs;
    if (interval) {
      // WATCHDOG=1 only while frames really come out of inference (or while paused on request).
      this.timers.push(
        setInterval(() => {
          const stats = this.loop?.stats();
          const flowing = stats !== undefined && Date.now() - stats.lastFrameOutAtMs < 2 * interval;
          if (flowing || this.loop?.isPaused) this.sd?.watchdog();
        }, interval),
      );
    }
  }

  async healthPayload(): Promise<HealthPayload> {
    const loop = this.loop?.stats();
    const source = this.source?.stats();
    const mqtt = this.connection?.stats();
    const system = await readSystemHealth();
    return {
      timestamp: new Date().toISOString(),
      version: edgesegVersion,
      deviceId: this.config.device_id,
      model: this.engine ? modelId(this.engine.manifest) : this.config.model,
      ...(this.engine ? { provider: this.engine.info.provider } : {}),
      paused: this.loop?.isPaused ?? false,
      frames: {
        captured: source?.framesCaptured ?? 0,
        in: loop?.framesIn ?? 0,
        out: loop?.framesOut ?? 0,
        dropped: (loop?.framesDropped ?? 0) + (source?.framesDropped ?? 0),
        errors: (loop?.frameErrors ?? 0) + (source?.badFrames ?? 0),
      },
      fps: Math.round((loop?.fps ?? 0) * 100) / 100,
      inferenceMs: { p50: round2(loop?.inferenceMsP50 ?? 0), p99: round2(loop?.inferenceMsP99 ?? 0) },
      mqtt: {
        reconnects: mqtt?.reconnects ?? 0,
        clientRecreations: mqtt?.clientRecreations ?? 0,
        droppedWhileOffline: mqtt?.droppedWhileOffline ?? 0,
      },
      sourceRestarts: source?.restarts ?? 0,
      rssBytes: system.rssBytes,
      heapUsedBytes: system.heapUsedBytes,
      cpuLoad1: system.cpuLoad1,
      cpuPercent: system.cpuPercent,
      temperaturesC: system.temperaturesC,
      uptimeS: system.uptimeS,
    };
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
