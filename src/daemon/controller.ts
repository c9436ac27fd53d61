// The daemon controller: builds the parts (the model, the MQTT connection, the frame loop, the
// frame source and one extension per behaviour), starts them in order and stops them in reverse.
// It is the only place that wires concrete parts together (zigbee2mqtt's controller.ts).

import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { createFrameSource } from '../capture/create.js';
import type { FrameSource } from '../capture/types.js';
import type { RejectedRemoteConfig, RemoteConfigStore } from '../config/remote-store.js';
import type { Config } from '../config/schema.js';
import { modelId } from '../model/manifest.js';
import { MqttConnection } from '../mqtt/connection.js';
import { RequestRouter } from '../mqtt/requests.js';
import { type Topics, topicsFor } from '../mqtt/topics.js';
import { FrameLoop } from '../pipeline/frame-loop.js';
import { BurstLogger } from '../system/burst-log.js';
import { errorMessage } from '../system/errors.js';
import type { Logger } from '../system/log.js';
import { createSdNotifier, type SdNotifier } from '../system/sd-notify.js';
import type { DaemonContext, DaemonState } from './context.js';
import { EventBus } from './event-bus.js';
import { Availability, statusPayload } from './extensions/availability.js';
import { Control } from './extensions/control.js';
import { Frames } from './extensions/frames.js';
import { Health } from './extensions/health.js';
import { HomeAssistant } from './extensions/homeassistant.js';
import { Info } from './extensions/info.js';
import { Metrics } from './extensions/metrics.js';
import { RemoteConfig } from './extensions/remote-config.js';
import { Requests } from './extensions/requests.js';
import { VideoOut } from './extensions/video-out.js';
import { Watchdog } from './extensions/watchdog.js';
import { Web } from './extensions/web.js';
import { Inference } from './inference.js';
import type { Part } from './part.js';

/** Each extension of the start timeout while the model loads, and how long loading may take in all. */
const LOAD_EXTENSION_MS = 90_000;
const MAX_LOAD_MS = 60 * 60_000;

export interface ControllerOptions {
  /** The running config: the local file with the accepted remote changes. */
  config: Config;
  /** The local file with environment overrides, and its validated form. */
  base: Record<string, unknown>;
  baseConfig: Config;
  /** Accepted remote changes, as sent. */
  remote: Record<string, unknown>;
  /** Where the local config came from, for error messages (a file path, or "demo config"). */
  origin: string;
  store: RemoteConfigStore;
  /** A persisted remote change set aside at this start. */
  rejected?: RejectedRemoteConfig | undefined;
  logger: Logger;
}

export class Controller {
  private config: Config;
  private readonly logger: Logger;
  private readonly bursts: BurstLogger;
  private readonly bus: EventBus;
  readonly topics: Topics;
  private readonly inference: Inference;
  private readonly started: Part[] = [];
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private sd: SdNotifier | undefined;
  private loop: FrameLoop | undefined;
  private source: FrameSource | undefined;
  private health: Health | undefined;
  private readonly state: DaemonState;
  private markConnected: () => void = () => {};
  /** Resolves the first time the MQTT connection is up. */
  readonly connected = new Promise<void>((resolve) => {
    this.markConnected = resolve;
  });

  constructor(private readonly options: ControllerOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.bursts = new BurstLogger(this.logger);
    this.bus = new EventBus((owner, event, error) =>
      this.bursts.error(`listener:${owner}:${event}`, `the ${event} listener of ${owner} failed`, {
        err: errorMessage(error),
      }),
    );
    this.topics = topicsFor(this.config.mqtt.base_topic, this.config.device_id);
    this.inference = new Inference(
      () => this.config,
      this.bus,
      this.logger,
      (problem) => {
        this.state.engineLost = problem;
        this.bus.emit('stateChanged');
      },
    );
    this.state = {
      instanceId: randomBytes(6).toString('hex'),
      rejectedRemoteConfig: options.rejected,
      duplicate: undefined,
      engineLost: undefined,
    };
  }

  get instanceId(): string {
    return this.state.instanceId;
  }

  /** Loads and warms the model, connects MQTT, starts capture, then tells systemd READY=1. */
  start(): Promise<void> {
    this.starting ??= this.startParts();
    return this.starting;
  }

  /** Stops the started parts in reverse order (drain, `stopped`, disconnect). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => {});
      this.sd?.stopping();
      while (this.started.length > 0) {
        const part = this.started.pop()!;
        try {
          await part.stop();
        } catch (error) {
          this.logger.error({ part: part.name, err: errorMessage(error) }, 'stopping a part failed');
        }
      }
      this.logger.info('edgeseg daemon stopped');
    })();
    return this.stopping;
  }

  /** The health payload, as the `health` topic and request give it (for tests and the CLI). */
  healthPayload(): ReturnType<Health['payload']> {
    if (!this.health) throw new Error('Controller: health read before start()');
    return this.health.payload();
  }

  private async startParts(): Promise<void> {
    const { logger } = this;
    // libvips' operation cache helps batch jobs, not a months-long daemon: keep memory flat.
    sharp.cache(false);
    const sd = await createSdNotifier(process.env, logger);
    this.sd = sd;
    await this.whileLoading(sd, () => this.startPart(this.inference));
    const engine = this.inference.running;
    logger.info(
      {
        model: modelId(engine.manifest),
        runtime: engine.info.runtime,
        provider: engine.info.provider,
        fallbacks: engine.info.fallbackReasons,
      },
      'model warm',
    );

    const config = this.config;
    const connection = new MqttConnection(
      config.mqtt,
      config.mqtt.client_id ?? `edgeseg-${config.device_id}`,
      {
        topic: this.topics.status,
        payload: statusPayload('offline', { config, manifest: engine.manifest, state: this.state }),
      },
      {
        onConnect: () => {
          this.markConnected();
          this.bus.emit('mqttConnected');
        },
        onMessage: (topic, payload, retained) => this.bus.emit('mqttMessage', topic, payload, retained),
      },
      logger,
    );
    const loop = new FrameLoop(this.inference.segmenter);
    this.loop = loop;
    this.inference.attach(loop);
    loop.on('processed', (processed) => this.bus.emit('frameProcessed', processed));
    loop.on('frameError', (error) =>
      this.bursts.warn('frame', 'frame failed; skipped', { err: error.message }),
    );
    const { capture } = config;
    const source = createFrameSource(
      config.source,
      {
        width: capture.width,
        height: capture.height,
        fps: config.fps,
        loop: capture.loop,
        stallTimeoutMs: capture.stall_timeout_ms,
        backoff: { initialMs: capture.backoff_initial_ms, maxMs: capture.backoff_max_ms },
        backend: capture.backend,
        logger,
      },
      { username: capture.username, password: capture.password },
    );
    this.source = source;
    source.on('frame', (frame) => loop.offer(frame));
    source.on('error', (error) => this.bursts.warn('source', 'frame source problem', { err: error.message }));
    source.on('state', () => this.bus.emit('stateChanged'));

    const context = this.context(connection, sd);
    const availability = new Availability(context);
    const health = new Health(context);
    this.health = health;
    const metrics = new Metrics(context);
    const parts: Part[] = [
      availability,
      new RemoteConfig(context, {
        base: this.options.base,
        baseConfig: this.options.baseConfig,
        remote: this.options.remote,
        origin: this.options.origin,
        store: this.options.store,
      }),
      new Requests(context),
      new Control(context),
      new Frames(context),
      new VideoOut(context),
      health,
      new Info(context),
      new HomeAssistant(context),
      metrics,
      new Web(context, {
        status: () => availability.payload('online'),
        health: () => health.payload(),
        metrics: () => metrics.current,
      }),
      {
        name: 'mqtt',
        start: () => connection.start(),
        stop: () => connection.stop({ ...availability.stoppedMessage(), options: { qos: 1, retain: true } }),
      },
      { name: 'frame-loop', start: () => loop.start(), stop: () => loop.stop() },
      { name: 'frame-source', start: () => source.start(), stop: () => source.stop() },
      new Watchdog(context),
    ];
    for (const part of parts) await this.startPart(part);
    sd.ready();
    sd.status(`segmenting ${source.label} with ${engine.manifest.name} (${engine.info.provider})`);
    logger.info(
      { source: source.label, topics: this.topics.base, instanceId: this.state.instanceId },
      'edgeseg daemon running',
    );
  }

  /**
   * A first start may build a TensorRT engine for many minutes: systemd is asked for more time in
   * steps while the model loads (up to MAX_LOAD_MS), so TimeoutStartSec can stay short for the
   * starts that hang for another reason.
   */
  private async whileLoading(sd: SdNotifier, load: () => Promise<void>): Promise<void> {
    const started = Date.now();
    sd.extendTimeout(LOAD_EXTENSION_MS);
    const timer = setInterval(() => {
      if (Date.now() - started < MAX_LOAD_MS) sd.extendTimeout(LOAD_EXTENSION_MS);
    }, LOAD_EXTENSION_MS / 3);
    try {
      await load();
    } finally {
      clearInterval(timer);
    }
  }

  private async startPart(part: Part): Promise<void> {
    // Pushed first: a part that fails half-way still gets its stop() for whatever it did start.
    this.started.push(part);
    await part.start();
  }

  private context(connection: MqttConnection, sd: SdNotifier): DaemonContext {
    const controller = this;
    const inference = this.inference;
    return {
      get config() {
        return controller.config;
      },
      logger: this.logger,
      bursts: this.bursts,
      topics: this.topics,
      bus: this.bus,
      connection,
      requests: new RequestRouter(this.config.mqtt.max_payload_bytes),
      sd,
      state: this.state,
      pipeline: {
        loopStats: () => controller.loop?.stats(),
        sourceStats: () => controller.source?.stats(),
        sourceState: () => controller.source?.state ?? { state: 'starting', sinceMs: Date.now() },
        get paused() {
          return controller.loop?.isPaused ?? false;
        },
        setPaused: (paused) => controller.loop?.setPaused(paused),
      },
      model: {
        get manifest() {
          return inference.running.manifest;
        },
        get info() {
          return inference.running.info;
        },
        prepare: (modelDir) => inference.prepare(modelDir),
      },
      applyConfig: (next) => {
        const previous = controller.config;
        controller.config = next;
        controller.source?.setFpsLimit(next.fps);
        if (next.log.level !== previous.log.level) controller.logger.level = next.log.level;
        controller.bus.emit('configChanged', next, previous);
      },
    };
  }
}
