// Home Assistant MQTT discovery: one device per daemon, a sensor per class fraction and per region
// and class, fps and inference time, and a binary sensor for the source. Their state is the
// retained `summary` topic (means over homeassistant.state_interval_ms, so Home Assistant's
// recorder is not written at the camera's frame rate); availability is the retained `status`
// topic, whose JSON `state` is online, offline (Last Will) or stopped (clean exit).
// Discovery topics: <prefix>/<component>/edgeseg_<device_id>/<object_id>/config (one per entity,
// retained; an empty retained payload removes one).

import type { Config } from '../config/schema.js';
import type { ModelManifest } from '../model/manifest.js';
import { edgesegVersion } from '../system/version.js';
import type { StatsPayload, SummaryPayload } from './payloads.js';
import type { Topics } from './topics.js';

export type DiscoveryPayload = Record<string, unknown>;

export interface DiscoveryMessage {
  topic: string;
  payload: DiscoveryPayload;
}

export interface DiscoveryInput {
  config: Config;
  manifest: ModelManifest;
  topics: Topics;
}

/** `stopped` (a clean exit) is unavailable too: anything but `online` maps to `offline`. */
export const AVAILABILITY_TEMPLATE = "{{ 'online' if value_json.state == 'online' else 'offline' }}";

export function nodeId(deviceId: string): string {
  return `edgeseg_${deviceId}`;
}

/** Every discovery topic this daemon may own, for finding stale ones left on the broker. */
export function discoveryWildcard(prefix: string, deviceId: string): string {
  return `${prefix}/+/${nodeId(deviceId)}/+/config`;
}

export function isOwnDiscoveryTopic(topic: string, prefix: string, deviceId: string): boolean {
  const head = `${prefix}/`;
  if (!topic.startsWith(head)) return false;
  const parts = topic.slice(head.length).split('/');
  return parts.length === 4 && parts[1] === nodeId(deviceId) && parts[3] === 'config';
}

/** The discovery messages for the running model and config (none when disabled). */
export function discoveryMessages({ config, manifest, topics }: DiscoveryInput): DiscoveryMessage[] {
  const { homeassistant } = config;
  if (!homeassistant.enabled) return [];
  const node = nodeId(config.device_id);
  const common = {
    state_topic: topics.summary,
    availability: [
      {
        topic: topics.status,
        value_template: AVAILABILITY_TEMPLATE,
        payload_available: 'online',
        payload_not_available: 'offline',
      },
    ],
    device: {
      identifiers: [node],
      name: `edgeseg ${config.device_id}`,
      manufacturer: 'edgeseg',
      model: `FCN-8s segmentation (${manifest.name})`,
      sw_version: edgesegVersion,
    },
    origin: { name: 'edgeseg', sw_version: edgesegVersion },
  };
  const messages: DiscoveryMessage[] = [];
  const entity = (component: string, objectId: string, fields: DiscoveryPayload) =>
    messages.push({
      topic: `${homeassistant.discovery_prefix}/${component}/${node}/${objectId}/config`,
      payload: { ...fields, unique_id: `${node}_${objectId}`, ...common },
    });
  const wanted = config.publish.classes;
  const classes = manifest.classes.map((cls) => cls.name).filter((name) => !wanted || wanted.includes(name));
  const classSlugs = uniqueSlugs(classes);
  const percent = { unit_of_measurement: '%', state_class: 'measurement', suggested_display_precision: 1 };
  for (const name of classes)
    entity('sensor', `class_${classSlugs.get(name)}`, {
      name: `${name} fraction`,
      value_template: percentTemplate('classFractions', name),
      ...percent,
    });
  const regionSlugs = uniqueSlugs(config.regions.map((region) => region.name));
  for (const region of config.regions)
    for (const name of classes)
      entity('sensor', `region_${regionSlugs.get(region.name)}__${classSlugs.get(name)}`, {
        name: `${region.name} ${name} fraction`,
        value_template: percentTemplate('regions', region.name, name),
        ...percent,
      });
  entity('sensor', 'fps', {
    name: 'Frame rate',
    value_template: '{{ value_json.fps }}',
    unit_of_measurement: 'fps',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  });
  entity('sensor', 'inference_time', {
    name: 'Inference time',
    value_template: "{{ value_json.inferenceMs if value_json.frames > 0 else 'None' }}",
    device_class: 'duration',
    unit_of_measurement: 'ms',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  });
  entity('binary_sensor', 'source', {
    name: 'Source',
    value_template: "{{ 'ON' if value_json.sourceRunning else 'OFF' }}",
    payload_on: 'ON',
    payload_off: 'OFF',
    device_class: 'running',
  });
  return messages;
}

/**
 * Percent with one decimal of value_json.<field>[name]...; "None" (unknown in Home Assistant) when
 * a key is absent, e.g. in an interval without frames. Names are quoted as JSON strings, which
 * Jinja reads as string literals whatever they contain.
 */
function percentTemplate(field: string, ...names: string[]): string {
  let expression = `value_json.${field}`;
  const guards: string[] = [];
  for (const name of names) {
    const literal = JSON.stringify(name);
    guards.push(`${literal} in ${expression}`);
    expression += `[${literal}]`;
  }
  return `{% if ${guards.join(' and ')} %}{{ (${expression} * 100) | round(1) }}{% else %}None{% endif %}`;
}

/** Names → object-id-safe slugs ([a-z0-9_], no double underscore), made unique by a suffix. */
function uniqueSlugs(names: readonly string[]): Map<string, string> {
  const slugs = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    const base =
      name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '_')
        .replace(/^_+|_+$/g, '') || 'x';
    let slug = base;
    for (let n = 2; taken.has(slug); n++) slug = `${base}_${n}`;
    taken.add(slug);
    slugs.set(name, slug);
  }
  return slugs;
}

/** Means of the frames' stats over one summary interval. */
export class SummaryWindow {
  private frames = 0;
  private inferenceSum = 0;
  private classSums = new Map<string, number>();
  private regionSums = new Map<string, Map<string, number>>();
  private startedAtMs = Date.now();

  add(stats: StatsPayload): void {
    this.frames++;
    this.inferenceSum += stats.latencyMs.inference;
    addAll(this.classSums, stats.classFractions);
    for (const [region, fractions] of Object.entries(stats.regions)) {
      const sums = this.regionSums.get(region) ?? new Map<string, number>();
      this.regionSums.set(region, sums);
      addAll(sums, fractions);
    }
  }

  /** The means so far, and a fresh window. */
  take(sourceRunning: boolean): SummaryPayload {
    const now = Date.now();
    const intervalS = Math.max(0.001, (now - this.startedAtMs) / 1000);
    const mean = (sums: Map<string, number>) =>
      Object.fromEntries([...sums].map(([name, sum]) => [name, round(sum / this.frames, 4)]));
    const payload: SummaryPayload = {
      timestamp: new Date(now).toISOString(),
      intervalS: round(intervalS, 3),
      frames: this.frames,
      fps: round(this.frames / intervalS, 2),
      inferenceMs: this.frames > 0 ? round(this.inferenceSum / this.frames, 2) : 0,
      sourceRunning,
      classFractions: mean(this.classSums),
      regions: Object.fromEntries([...this.regionSums].map(([region, sums]) => [region, mean(sums)])),
    };
    this.frames = 0;
    this.inferenceSum = 0;
    this.classSums = new Map();
    this.regionSums = new Map();
    this.startedAtMs = now;
    return payload;
  }
}

function addAll(sums: Map<string, number>, fractions: Record<string, number>): void {
  for (const [name, fraction] of Object.entries(fractions)) sums.set(name, (sums.get(name) ?? 0) + fraction);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
