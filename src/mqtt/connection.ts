// The MQTT connection, supervised: mqtt.js reconnects by itself, but it is known to stop trying
// for good in some cases, so a watchdog recreates the client after `supervisorTimeoutMs` offline.
// On every (re)connect it runs the onConnect hook (subscribe, status, retained config). While
// offline, per-frame messages are dropped and counted instead of queued: memory stays bounded.

import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Config } from '../config/schema.js';
import { FileError } from '../system/errors.js';
import type { Logger } from '../system/log.js';
import { redactUrlCredentials } from '../system/redact.js';

export interface PublishOptions {
  qos: 0 | 1 | 2;
  retain: boolean;
  contentType?: string;
}

export interface ConnectionStats {
  connected: boolean;
  /** Wall-clock ms until which the connection is deliberately closed (0 when it is not). */
  suspendedUntilMs: number;
  reconnects: number;
  clientRecreations: number;
  droppedWhileOffline: number;
}

export interface ConnectionHandlers {
  onConnect(connection: MqttConnection): void;
  /** `retained`: the broker replayed a stored message on subscribe (not a live publish). */
  onMessage(topic: string, payload: Buffer, retained: boolean): void;
}

export class MqttConnection {
  private readonly pendingSubscriptions = new Set<Promise<void>>();
  private client: MqttClient | undefined;
  private supervisor: NodeJS.Timeout | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private suspendedUntilMs = 0;
  private disconnectedSince = Date.now();
  private everConnected = false;
  private readonly counters = { reconnects: 0, clientRecreations: 0, droppedWhileOffline: 0 };

  constructor(
    private readonly settings: Config['mqtt'],
    private readonly clientId: string,
    private readonly will: { topic: string; payload: string },
    private readonly handlers: ConnectionHandlers,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.client) return;
    this.client = this.createClient();
    this.supervisor = setInterval(
      () => this.supervise(),
      Math.min(5000, this.settings.supervisor_timeout_ms / 2),
    );
    this.supervisor.unref();
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  stats(): ConnectionStats {
    return { connected: this.connected, suspendedUntilMs: this.suspendedUntilMs, ...this.counters };
  }

  /**
   * Publishes now if connected, else drops and counts the message. Nothing is queued while offline:
   * retained state (status, config) is published again on every connect, and a queued status
   * would be replayed stale on the next connection, ahead of its subscriptions.
   */
  publish(topic: string, payload: string | Buffer, options: PublishOptions): void {
    const client = this.client;
    if (!client?.connected) {
      this.counters.droppedWhileOffline++;
      return;
    }
    const publishOptions: IClientPublishOptions = { qos: options.qos, retain: options.retain };
    if (this.settings.protocol_version === 5 && options.contentType)
      publishOptions.properties = { contentType: options.contentType };
    client.publish(topic, payload, publishOptions, (error) => {
      if (error) this.logger.debug({ topic, err: error.message }, 'publish failed');
    });
  }

  subscribe(topic: string): void {
    const client = this.client;
    if (!client) return;
    const acked = new Promise<void>((resolve) => {
      client.subscribe(topic, { qos: 1 }, (error) => {
        if (error) this.logger.warn({ topic, err: error.message }, 'subscribe failed');
        resolve();
      });
    });
    this.pendingSubscriptions.add(acked);
    void acked.then(() => this.pendingSubscriptions.delete(acked));
    // Not kept past a lost connection's lifetime either.
    setTimeout(() => this.pendingSubscriptions.delete(acked), 30_000).unref();
  }

  /**
   * Resolves once every subscription asked for so far is acknowledged or failed, or after
   * `timeoutMs` (a connection lost before its SUBACK may never answer: never wait for ever).
   */
  async subscriptionsSettled(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    try {
      await Promise.race([Promise.all([...this.pendingSubscriptions]), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Publishes `lastMessage`, disconnects cleanly (no Last Will) and connects again after `delayMs`:
   * how the daemon steps aside for another instance under the same device_id instead of taking the
   * client id back every couple of seconds.
   */
  suspend(delayMs: number, lastMessage?: { topic: string; payload: string }): void {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.suspendedUntilMs = Date.now() + delayMs;
    const end = () => {
      client.removeAllListeners('message');
      client.end(false);
    };
    if (lastMessage && client.connected)
      client.publish(lastMessage.topic, lastMessage.payload, { qos: 1, retain: true }, end);
    else end();
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.suspendedUntilMs = 0;
      this.disconnectedSince = Date.now();
      this.client = this.createClient();
    }, delayMs);
  }

  /** Publishes `finalMessage` (e.g. status "stopped"), then disconnects. Idempotent. */
  async stop(finalMessage?: { topic: string; payload: string; options: PublishOptions }): Promise<void> {
    clearInterval(this.supervisor);
    this.supervisor = undefined;
    clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (finalMessage && client.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        client.publish(
          finalMessage.topic,
          finalMessage.payload,
          { qos: 1, retain: finalMessage.options.retain },
          () => {
            clearTimeout(timer);
            resolve();
          },
        );
      });
    }
    await client.endAsync(false).catch(() => client.end(true));
  }

  private createClient(): MqttClient {
    const { settings } = this;
    const options: IClientOptions = {
      clientId: this.clientId,
      protocolVersion: settings.protocol_version,
      keepalive: settings.keepalive_s,
      reconnectPeriod: settings.reconnect_period_ms,
      connectTimeout: 10_000,
      clean: true,
      queueQoSZero: false,
      will: { topic: this.will.topic, payload: Buffer.from(this.will.payload), qos: 1, retain: true },
      ...(settings.username ? { username: settings.username } : {}),
      ...(settings.password ? { password: settings.password } : {}),
      ...(settings.tls.ca ? { ca: readTlsFile(settings.tls.ca, 'mqtt.tls.ca') } : {}),
      ...(settings.tls.cert ? { cert: readTlsFile(settings.tls.cert, 'mqtt.tls.cert') } : {}),
      ...(settings.tls.key ? { key: readTlsFile(settings.tls.key, 'mqtt.tls.key') } : {}),
      rejectUnauthorized: settings.tls.reject_unauthorized,
    };
    const client = mqtt.connect(settings.url, options);
    client.on('connect', () => {
      if (this.everConnected) this.counters.reconnects++;
      this.everConnected = true;
      this.logger.info({ url: redactUrlCredentials(settings.url) }, 'MQTT connected');
      this.handlers.onConnect(this);
    });
    client.on('close', () => {
      // A clean session starts with nothing in flight, but mqtt.js resends the publishes left
      // unacknowledged by a lost connection on the next one, ahead of its subscriptions
      // (mqttjs/MQTT.js#1651): a stale retained status would overwrite what the broker kept
      // meanwhile (another instance's step aside). State is published afresh on every connect.
      for (const messageId of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(messageId));
      // A client being stopped or replaced is not an outage.
      if (this.client !== client) return;
      if (this.disconnectedSince === 0) {
        this.disconnectedSince = Date.now();
        this.logger.warn({ url: redactUrlCredentials(settings.url) }, 'MQTT disconnected; reconnecting');
      }
    });
    client.on('connect', () => {
      this.disconnectedSince = 0;
    });
    client.on('error', (error) => {
      // A client being stopped or replaced may still fail a last write ("write after end"): not news.
      if (this.client !== client) this.logger.debug({ err: error.message }, 'MQTT error after stop');
      else this.logger.warn({ err: error.message }, 'MQTT error');
    });
    client.on('message', (topic, payload, packet) => this.handlers.onMessage(topic, payload, packet.retain));
    return client;
  }

  private supervise(): void {
    if (!this.client || this.client.connected || this.disconnectedSince === 0) return;
    if (Date.now() - this.disconnectedSince < this.settings.supervisor_timeout_ms) return;
    this.logger.warn(
      { offlineMs: Date.now() - this.disconnectedSince },
      'MQTT client stuck offline; recreating it',
    );
    this.counters.clientRecreations++;
    const stale = this.client;
    stale.removeAllListeners();
    stale.on('error', () => {});
    stale.end(true);
    this.disconnectedSince = Date.now();
    this.client = this.createClient();
  }
}

function readTlsFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new FileError(path, `cannot read the file named by ${key}`, { cause: error });
  }
}
