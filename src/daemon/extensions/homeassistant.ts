// Home Assistant discovery (homeassistant.enabled): retained discovery messages on every
// (re)connect, the retained `summary` topic their sensors read, and clean removal: a class or
// region that disappears (another model, a config/set) and every entity when discovery is turned
// off get an empty retained message. Stale ones from earlier runs are found by subscribing to
// this device's discovery topics, so turning discovery off in the file and restarting cleans up too.

import {
  discoveryMessages,
  discoveryWildcard,
  isOwnDiscoveryTopic,
  SummaryWindow,
} from '../../mqtt/homeassistant.js';
import { Extension } from '../extension.js';

const RETAINED = { qos: 1, retain: true, contentType: 'application/json' } as const;

export class HomeAssistant extends Extension {
  readonly name = 'homeassistant';
  /** Discovery topic → payload, as published for the running model and config. */
  private published = new Map<string, string>();
  private readonly window = new SummaryWindow();
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.published = this.desired();
    this.listen('mqttConnected', () => this.connected());
    this.listen('mqttMessage', (topic, payload) => this.clearIfStale(topic, payload));
    this.listen('frameStats', (stats) => {
      if (this.context.config.homeassistant.enabled) this.window.add(stats);
    });
    this.listen('modelChanged', () => this.refresh());
    this.listen('configChanged', (config, previous) => {
      const before = previous.homeassistant;
      const after = config.homeassistant;
      if (after.discovery_prefix !== before.discovery_prefix) this.subscribeToOwnTopics();
      if (before.enabled && !after.enabled) this.clear(this.context.topics.summary);
      this.refresh();
      if (after.enabled !== before.enabled || after.state_interval_ms !== before.state_interval_ms)
        this.schedule();
    });
    this.schedule();
  }

  override stop(): void {
    this.unregister();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private desired(): Map<string, string> {
    const { config, model, topics } = this.context;
    const messages = discoveryMessages({ config, manifest: model.manifest, topics });
    return new Map(messages.map(({ topic, payload }) => [topic, JSON.stringify(payload)]));
  }

  private connected(): void {
    this.subscribeToOwnTopics();
    for (const [topic, payload] of this.published) this.context.connection.publish(topic, payload, RETAINED);
  }

  private subscribeToOwnTopics(): void {
    const { config, connection } = this.context;
    if (connection.connected)
      connection.subscribe(discoveryWildcard(config.homeassistant.discovery_prefix, config.device_id));
  }

  /** Publishes what changed and removes what is no longer there. */
  private refresh(): void {
    const next = this.desired();
    for (const topic of this.published.keys()) if (!next.has(topic)) this.clear(topic);
    for (const [topic, payload] of next)
      if (this.published.get(topic) !== payload) this.context.connection.publish(topic, payload, RETAINED);
    this.published = next;
  }

  private clearIfStale(topic: string, payload: Buffer): void {
    const { homeassistant, device_id } = this.context.config;
    if (payload.length === 0 || this.published.has(topic)) return;
    if (!isOwnDiscoveryTopic(topic, homeassistant.discovery_prefix, device_id)) return;
    this.context.logger.info({ topic }, 'removing a stale Home Assistant discovery message');
    this.clear(topic);
    if (!homeassistant.enabled) this.clear(this.context.topics.summary);
  }

  /**
   * An empty retained message deletes the retained one (and the entity in Home Assistant). One
   * dropped while offline is made good at the next connection by the search for stale topics.
   */
  private clear(topic: string): void {
    this.context.connection.publish(topic, '', { qos: 1, retain: true });
  }

  private schedule(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    const { homeassistant } = this.context.config;
    if (!homeassistant.enabled) return;
    this.window.take(false);
    this.timer = setInterval(() => this.publishSummary(), homeassistant.state_interval_ms);
  }

  private publishSummary(): void {
    const { pipeline, connection, topics } = this.context;
    const running = pipeline.sourceState().state === 'ok';
    connection.publish(topics.summary, JSON.stringify(this.window.take(running)), RETAINED);
  }
}
