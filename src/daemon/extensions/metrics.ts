// Metrics: the Prometheus registry behind /metrics (built only when the web server serves it), fed
// with every frame's stats; fraction series are reset when the model, the regions or the published
// classes change, so no stale label lingers.

import { modelId } from '../../model/manifest.js';
import { readTemperatures } from '../../system/health.js';
import { edgesegVersion } from '../../system/version.js';
import { Extension } from '../extension.js';
import { DaemonMetrics } from '../metrics.js';
import { deviceProblems } from './availability.js';

export class Metrics extends Extension {
  readonly name = 'metrics';
  private metrics: DaemonMetrics | undefined;

  /** The registry, while /metrics is served. */
  get current(): DaemonMetrics | undefined {
    return this.metrics;
  }

  start(): void {
    const { config, pipeline, connection, model } = this.context;
    if (!config.http.enabled || !config.http.metrics) return;
    const metrics = new DaemonMetrics({
      loop: () => pipeline.loopStats(),
      source: () => pipeline.sourceStats(),
      sourceRunning: () => pipeline.sourceState().state === 'ok',
      paused: () => pipeline.paused,
      problems: () =>
        deviceProblems(this.context.config, this.context.state, pipeline.sourceState(), model.info),
      mqtt: () => connection.stats(),
      temperatures: () => readTemperatures('/sys/class/thermal'),
      model: () => ({
        version: edgesegVersion,
        model: modelId(model.manifest),
        runtime: model.info.runtime,
        provider: model.info.provider,
      }),
    });
    this.metrics = metrics;
    this.listen('frameStats', (stats) => metrics.observe(stats));
    this.listen('modelChanged', () => metrics.resetFractions());
    this.listen('configChanged', (next, previous) => {
      const shape = (c: typeof next) => JSON.stringify([c.regions, c.publish.classes]);
      if (shape(next) !== shape(previous)) metrics.resetFractions();
    });
  }

  override stop(): void {
    this.unregister();
    this.metrics?.registry.clear();
    this.metrics = undefined;
  }
}
