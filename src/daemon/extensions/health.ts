// Health: the `health` topic every publish.health.interval_ms and the `health` request: frame
// counters, fps, inference time, MQTT reconnects, memory, CPU and board temperatures.

import { modelId } from '../../model/manifest.js';
import type { HealthPayload } from '../../mqtt/payloads.js';
import { EmptyRequestSchema } from '../../mqtt/requests.js';
import { readSystemHealth } from '../../system/health.js';
import { edgesegVersion } from '../../system/version.js';
import { Extension } from '../extension.js';
import { deviceProblems, sourceStatus } from './availability.js';

/** fps reads 0 once no frame came out for this long (or three frame intervals, if longer). */
const FPS_STALE_MS = 3000;

export class Health extends Extension {
  readonly name = 'health';
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.answer('health', EmptyRequestSchema, () => this.payload());
    this.schedule();
    // A new interval takes effect at once, not after the old one.
    this.listen('configChanged', (config, previous) => {
      if (config.publish.health.interval_ms !== previous.publish.health.interval_ms) this.schedule();
    });
  }

  override stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unregister();
  }

  private schedule(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.publish(), this.context.config.publish.health.interval_ms);
  }

  private async publish(): Promise<void> {
    const { health } = this.context.config.publish;
    if (!health.enabled) return;
    const payload = await this.payload();
    this.publishJson(this.context.topics.health, payload, { qos: health.qos, retain: health.retain });
  }

  async payload(): Promise<HealthPayload> {
    const { config, pipeline, connection, model, state } = this.context;
    const loop = pipeline.loopStats();
    const source = pipeline.sourceStats();
    const sourceState = pipeline.sourceState();
    const mqtt = connection.stats();
    const system = await readSystemHealth();
    const problems = deviceProblems(config, state, sourceState, model.info);
    // The loop's fps is measured over the last frames; with none coming it would keep its last value.
    const staleMs = Math.max(FPS_STALE_MS, 3000 / config.fps);
    const flowing = loop !== undefined && loop.msSinceFrameOut < staleMs;
    return {
      timestamp: new Date().toISOString(),
      version: edgesegVersion,
      deviceId: config.device_id,
      instanceId: state.instanceId,
      model: modelId(model.manifest),
      provider: model.info.provider,
      paused: pipeline.paused,
      frames: {
        captured: source?.framesCaptured ?? 0,
        in: loop?.framesIn ?? 0,
        out: loop?.framesOut ?? 0,
        dropped: (loop?.framesDropped ?? 0) + (source?.framesDropped ?? 0),
        errors: (loop?.frameErrors ?? 0) + (source?.badFrames ?? 0),
      },
      fps: flowing ? round2(loop.fps) : 0,
      source: {
        ...sourceStatus(sourceState),
        ...(source?.lastFrameAtMs ? { lastFrameAt: new Date(source.lastFrameAtMs).toISOString() } : {}),
      },
      degraded: problems.length > 0,
      problems,
      ...(state.duplicate ? { duplicate: state.duplicate } : {}),
      ...(state.rejectedRemoteConfig ? { rejectedRemoteConfig: state.rejectedRemoteConfig } : {}),
      inferenceMs: { p50: round2(loop?.inferenceMsP50 ?? 0), p99: round2(loop?.inferenceMsP99 ?? 0) },
      mqtt: {
        connected: mqtt.connected,
        reconnects: mqtt.reconnects,
        clientRecreations: mqtt.clientRecreations,
        droppedWhileOffline: mqtt.droppedWhileOffline,
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
