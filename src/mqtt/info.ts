// What the daemon says about itself in the retained `info` topic (zigbee2mqtt's bridge/info:
// version, model, classes, capabilities, source, outputs); /api/info serves the same.

import { stripSecrets } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { EngineInfo } from '../engine/types.js';
import type { ModelManifest } from '../model/manifest.js';
import { modelId } from '../model/manifest.js';
import { edgesegVersion } from '../system/version.js';
import type { InfoPayload } from './payloads.js';
import type { Topics } from './topics.js';

export interface DeviceDescription {
  config: Config;
  manifest: ModelManifest;
  engine: EngineInfo;
  topics: Topics;
  /** Request names the router answers. */
  requests: readonly string[];
}

/** The web server's addresses, as the page, the stream and the metrics are reached. */
export function webAddresses(http: Config['http']): { page: string; stream: string; metrics: string } {
  const host = http.host.includes(':') ? `[${http.host}]` : http.host;
  const root = `http://${host}:${http.port}`;
  return { page: `${root}/`, stream: `${root}/stream.mjpeg`, metrics: `${root}/metrics` };
}

export function infoPayload({ config, manifest, engine, topics, requests }: DeviceDescription): InfoPayload {
  const { publish, http, homeassistant } = config;
  const outputs: InfoPayload['outputs'] = [];
  const mqtt = (name: string, topic: string, enabled: boolean) => {
    if (enabled) outputs.push({ kind: 'mqtt', name, address: topic });
  };
  mqtt('mask', topics.mask, publish.mask.enabled);
  mqtt('stats', topics.stats, publish.stats.enabled);
  mqtt('overlay', topics.overlay, publish.overlay.enabled);
  mqtt('health', topics.health, publish.health.enabled);
  mqtt('summary', topics.summary, homeassistant.enabled);
  if (http.enabled) {
    const web = webAddresses(http);
    outputs.push({ kind: 'http', name: 'page', address: web.page });
    outputs.push({ kind: 'http', name: 'stream', address: web.stream });
    if (http.metrics) outputs.push({ kind: 'http', name: 'metrics', address: web.metrics });
  }
  // The RTP video outputs (their URI grammar has no room for credentials).
  for (const [index, output] of config.outputs.entries())
    outputs.push({ kind: 'rtp', name: `${output.content}-${index}`, address: output.uri });
  return {
    deviceId: config.device_id,
    version: edgesegVersion,
    timestamp: new Date().toISOString(),
    model: {
      id: modelId(manifest),
      name: manifest.name,
      runtime: engine.runtime,
      provider: engine.provider,
      ...(engine.int8Kernels ? { int8Kernels: engine.int8Kernels } : {}),
      input: { width: manifest.input.width, height: manifest.input.height },
      classes: manifest.classes.map(({ id, name, color }) => ({ id, name, color })),
    },
    source: stripSecrets(config).source,
    capabilities: {
      requests: [...requests].sort(),
      http: http.enabled,
      stream: http.enabled,
      metrics: http.enabled && http.metrics,
      homeassistant: homeassistant.enabled,
    },
    outputs,
  };
}
