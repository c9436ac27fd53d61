// The daemon's Prometheus metrics (prom-client): counters read from the pipeline, the source and
// the MQTT connection when scraped, per-stage latency histograms and class fractions fed from each
// frame's stats. Label values come only from the model's classes, the configured regions, the
// fixed stage names and the board's thermal zones, so the number of series is bounded; fraction
// series are dropped when the model or the regions change.

import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { FrameSourceStats } from '../capture/types.js';
import type { ConnectionStats } from '../mqtt/connection.js';
import type { StatsPayload } from '../mqtt/payloads.js';
import type { FrameLoopStats } from '../pipeline/frame-loop.js';
import type { MjpegStats } from '../web/mjpeg.js';

export interface MetricReaders {
  loop(): FrameLoopStats | undefined;
  source(): FrameSourceStats | undefined;
  sourceRunning(): boolean;
  paused(): boolean;
  /** What status and health list under `problems` (degraded when any). */
  problems(): string[];
  mqtt(): ConnectionStats;
  temperatures(): Promise<Record<string, number>>;
  model(): { version: string; model: string; runtime: string; provider: string };
}

const STAGES = ['queue', 'preprocess', 'inference', 'postprocess', 'total'] as const;

export class DaemonMetrics {
  readonly registry = new Registry();
  /** Set by the web server while it streams. */
  stream: (() => MjpegStats) | undefined;
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly classFraction: Gauge<'class'>;
  private readonly regionFraction: Gauge<'region' | 'class'>;

  constructor(readers: MetricReaders) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters: promtool (and PromQL's rate()) would take them for counters.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ])
      this.registry.removeSingleMetric(name);
    // A counter kept elsewhere (the loop, the source, the connection), copied when scraped.
    const mirrored = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    const sampled = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    const loop = () => readers.loop();
    const source = () => readers.source();
    mirrored(
      'edgeseg_frames_captured_total',
      'frames delivered by the source',
      () => source()?.framesCaptured ?? 0,
    );
    mirrored('edgeseg_frames_in_total', 'frames taken by the frame loop', () => loop()?.framesIn ?? 0);
    mirrored('edgeseg_frames_out_total', 'frames segmented', () => loop()?.framesOut ?? 0);
    mirrored(
      'edgeseg_frames_dropped_total',
      'frames dropped (source rate limit and stale frames replaced in the loop)',
      () => (loop()?.framesDropped ?? 0) + (source()?.framesDropped ?? 0),
    );
    mirrored(
      'edgeseg_frame_errors_total',
      'frames that failed (bad source frames, inference errors)',
      () => (loop()?.frameErrors ?? 0) + (source()?.badFrames ?? 0),
    );
    mirrored(
      'edgeseg_source_wrong_size_frames_total',
      'frames refused because their header announced another size than capture.width×height',
      () => source()?.wrongSizeFrames ?? 0,
    );
    mirrored('edgeseg_source_restarts_total', 'frame source restarts', () => source()?.restarts ?? 0);
    mirrored('edgeseg_mqtt_reconnects_total', 'MQTT reconnections', () => readers.mqtt().reconnects);
    mirrored(
      'edgeseg_mqtt_client_recreations_total',
      'MQTT clients recreated by the supervisor',
      () => readers.mqtt().clientRecreations,
    );
    mirrored(
      'edgeseg_mqtt_dropped_while_offline_total',
      'per-frame messages dropped while the broker was unreachable',
      () => readers.mqtt().droppedWhileOffline,
    );
    sampled('edgeseg_fps', 'frames segmented per second (recent window)', () => loop()?.fps ?? 0);
    sampled('edgeseg_mqtt_connected', '1 while connected to the broker', () =>
      Number(readers.mqtt().connected),
    );
    sampled('edgeseg_source_running', '1 while frames arrive from the source', () =>
      Number(readers.sourceRunning()),
    );
    sampled('edgeseg_paused', '1 while paused by a request', () => Number(readers.paused()));
    sampled(
      'edgeseg_degraded',
      '1 while status and health say degraded (their problems field says why)',
      () => Number(readers.problems().length > 0),
    );
    const stream = () => this.stream?.();
    sampled('edgeseg_stream_viewers', 'viewers of /stream.mjpeg', () => stream()?.viewers ?? 0);
    sampled(
      'edgeseg_stream_buffered_bytes',
      'stream bytes written and not yet taken by the viewers (about one frame per slow viewer)',
      () => stream()?.bufferedBytes ?? 0,
    );
    mirrored(
      'edgeseg_stream_frames_encoded_total',
      'JPEG encodes for /stream.mjpeg (none while nobody watches)',
      () => stream()?.framesEncoded ?? 0,
    );
    mirrored(
      'edgeseg_stream_frames_skipped_total',
      'stream frames a slow viewer skipped',
      () => stream()?.framesSkipped ?? 0,
    );
    new Gauge({
      name: 'edgeseg_temperature_celsius',
      help: 'board temperatures by thermal zone',
      labelNames: ['zone'],
      registers,
      async collect() {
        const temperatures = await readers.temperatures();
        this.reset();
        for (const [zone, celsius] of Object.entries(temperatures)) this.set({ zone }, celsius);
      },
    });
    new Gauge({
      name: 'edgeseg_info',
      help: 'the running version and model (value 1)',
      labelNames: ['version', 'model', 'runtime', 'provider'],
      registers,
      collect() {
        this.reset();
        this.set(readers.model(), 1);
      },
    });
    this.stageSeconds = new Histogram({
      name: 'edgeseg_frame_stage_seconds',
      help: 'time per frame in each stage (queue, preprocess, inference, postprocess; total = capture to stats)',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.classFraction = new Gauge({
      name: 'edgeseg_class_fraction',
      help: 'fraction of the last frame covered by each class',
      labelNames: ['class'],
      registers,
    });
    this.regionFraction = new Gauge({
      name: 'edgeseg_region_class_fraction',
      help: 'fraction of each region covered by each class in the last frame',
      labelNames: ['region', 'class'],
      registers,
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  observe(stats: StatsPayload): void {
    for (const stage of STAGES) this.stageSeconds.observe({ stage }, stats.latencyMs[stage] / 1000);
    for (const [name, fraction] of Object.entries(stats.classFractions))
      this.classFraction.set({ class: name }, fraction);
    for (const [region, fractions] of Object.entries(stats.regions))
      for (const [name, fraction] of Object.entries(fractions))
        this.regionFraction.set({ region, class: name }, fraction);
  }

  /** Drops the fraction series (another model or other regions: old labels must not linger). */
  resetFractions(): void {
    this.classFraction.reset();
    this.regionFraction.reset();
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
