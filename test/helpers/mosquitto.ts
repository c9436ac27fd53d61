// A real mosquitto broker on a free loopback port, started and stopped by the tests, plus an MQTT
// client that records messages and waits for the ones a test expects.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { freePort } from './net.js';
import { OutputWatcher } from './output.js';

const MOSQUITTO =
  ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((path) => existsSync(path)) ?? 'mosquitto';

/** PEM files for a TLS listener; with `requireClientCertificate` clients must present a cert signed by `ca`. */
export interface BrokerTls {
  ca: string;
  cert: string;
  key: string;
  requireClientCertificate?: boolean;
  /** PEM client certificate and key the helper's own probes and recorders use. */
  client?: { cert: string; key: string };
}

/** Accounts and an ACL instead of anonymous access (readiness comes from the broker's log, no login). */
export interface BrokerAuth {
  passwordFile: string;
  aclFile: string;
}

/** What Mosquitto.start takes: a TLS listener, accounts and an ACL, persistence. */
export interface BrokerOptions {
  tls?: BrokerTls;
  auth?: BrokerAuth;
  /** Retained messages are saved at once and survive kill() + resume(), as on a real broker. */
  persistent?: boolean;
}

export class Mosquitto {
  private child: ChildProcess | undefined;
  private childLog: OutputWatcher | undefined;
  private constructor(
    private port_: number,
    private readonly dir: string,
    private readonly configPath: string,
    readonly tls?: BrokerTls,
    private readonly auth?: BrokerAuth,
    private readonly persistent = false,
  ) {}

  get port(): number {
    return this.port_;
  }

  /** The running broker's log (connections, TLS failures), to wait on. */
  get log(): OutputWatcher {
    if (!this.childLog) throw new Error('mosquitto is not running');
    return this.childLog;
  }

  /**
   * Starts a broker on a free loopback port. A free port can be taken by someone else before
   * mosquitto binds it, so a start that fails with "Address already in use" is retried on another.
   */
  static async start(options: BrokerOptions = {}): Promise<Mosquitto> {
    // Its own folder, removed by stop(): the broker outlives the hook that starts it.
    const dir = await mkdtemp(join(tmpdir(), 'edgeseg-mosquitto-'));
    const broker = new Mosquitto(
      0,
      dir,
      join(dir, 'mosquitto.conf'),
      options.tls,
      options.auth,
      options.persistent,
    );
    for (let attempt = 1; ; attempt++) {
      broker.port_ = await freePort();
      await broker.writeConfig();
      const outcome = await broker.launch();
      if (outcome === 'ready') return broker;
      if (attempt === 5) throw new Error(`mosquitto: 5 free ports were taken before it could bind them`);
    }
  }

  private async writeConfig(): Promise<void> {
    const { tls, auth } = this;
    // Run as root, mosquitto drops to its own user, which cannot read the test's key files;
    // `user root` keeps it as it is (and has no effect when the tests do not run as root).
    const tlsLines = tls
      ? `user root\ncafile ${tls.ca}\ncertfile ${tls.cert}\nkeyfile ${tls.key}\nrequire_certificate ${tls.requireClientCertificate ? 'true' : 'false'}\n`
      : '';
    const authLines = auth
      ? `user root\nallow_anonymous false\npassword_file ${auth.passwordFile}\nacl_file ${auth.aclFile}\n`
      : 'allow_anonymous true\n';
    // Saved after every change, and by SIGTERM; as root, mosquitto would drop to a user that
    // cannot write the test's folder.
    const persistenceLines = this.persistent
      ? `${tls || auth ? '' : 'user root\n'}persistence true\npersistence_location ${this.dir}/\nautosave_on_changes true\nautosave_interval 1\n`
      : 'persistence false\n';
    // The log on stderr says when the listener is open ("... running") or why it is not.
    await writeFile(
      this.configPath,
      `listener ${this.port_} 127.0.0.1\n${tlsLines}${authLines}${persistenceLines}log_dest stderr\n`,
    );
  }

  /** Spawns mosquitto and waits until it logs that it runs, or exits (port taken, bad config). */
  private async launch(): Promise<'ready' | 'port-taken'> {
    const child = spawn(MOSQUITTO, ['-c', this.configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    const log = OutputWatcher.stderr(child);
    try {
      // Logged once the listener is open; its stderr ends first if it exits instead.
      await log.waitFor(/mosquitto version \S+ running/, { timeoutMs: 30_000 });
    } catch (error) {
      child.kill('SIGKILL');
      if (/Address already in use/.test(log.text)) return 'port-taken';
      throw new Error(`mosquitto did not start on port ${this.port_}: ${(error as Error).message}`);
    }
    this.child = child;
    this.childLog = log;
    return 'ready';
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  /** What a client needs to connect: the CA (and client certificate) for a TLS listener. */
  clientOptions(): IClientOptions {
    const { tls } = this;
    if (!tls) return {};
    return {
      ca: readFileSync(tls.ca),
      ...(tls.client ? { cert: readFileSync(tls.client.cert), key: readFileSync(tls.client.key) } : {}),
    };
  }

  /** Starts again on the same port (after kill()): clients configured with the URL reconnect. */
  async resume(): Promise<void> {
    if ((await this.launch()) === 'port-taken')
      throw new Error(`mosquitto: port ${this.port_} was taken while the broker was down`);
  }

  /**
   * Kills the broker (SIGKILL: an outage, not a clean shutdown). SIGTERM instead is a clean
   * restart: a persistent broker saves its retained messages first.
   */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface Received {
  topic: string;
  payload: Buffer;
  /** Date.now() when the recorder got it. */
  receivedAt: number;
}

/** A subscriber that keeps every message (tests are short) and can wait for a matching one. */
export class Recorder {
  readonly messages: Received[] = [];
  private waiters: Array<{ match: (m: Received) => boolean; resolve: (m: Received) => void }> = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const message = { topic, payload, receivedAt: Date.now() };
      this.messages.push(message);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(message)) return true;
        waiter.resolve(message);
        return false;
      });
    });
  }

  static async connect(url: string, topics: string[], options: IClientOptions = {}): Promise<Recorder> {
    const client = mqtt.connect(url, { reconnectPeriod: 500, ...options });
    const recorder = new Recorder(client);
    client.on('connect', () => client.subscribe(topics));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await new Promise<void>((resolve) => client.subscribe(topics, () => resolve()));
    return recorder;
  }

  /** Waits for a message (received from now on, or already received when `includePast`). */
  waitFor(match: (m: Received) => boolean, timeoutMs = 20_000, includePast = false): Promise<Received> {
    if (includePast) {
      const found = this.messages.find(match);
      if (found) return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching MQTT message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Publishes a request and waits for the response that echoes its transaction. */
  async request(
    base: string,
    name: string,
    payload: string | Record<string, unknown>,
    transaction: string,
  ): Promise<Record<string, unknown>> {
    const body = typeof payload === 'string' ? payload : JSON.stringify({ transaction, ...payload });
    const responseTopic = `${base}/response/${name}`;
    const pending = this.waitFor((m) => {
      if (m.topic !== responseTopic) return false;
      const parsed = JSON.parse(m.payload.toString()) as Record<string, unknown>;
      return typeof payload === 'string' || parsed.transaction === transaction;
    });
    this.client.publish(`${base}/request/${name}`, body, { qos: 1 });
    const response = await pending.catch((error: Error) => {
      throw new Error(`request ${name} (transaction ${transaction}): ${error.message}`);
    });
    return JSON.parse(response.payload.toString()) as Record<string, unknown>;
  }

  end(): void {
    this.client.end(true);
  }
}

/**
 * What a client subscribing now gets as retained messages under `filter` (topic → payload). The
 * broker sends a subscription's retained messages before it handles the client's next packet: a
 * marker the client then publishes to itself (QoS 1, as the retained ones) arrives after all of
 * them, so the wait ends on that marker instead of a fixed settling time.
 */
export async function retainedMessages(url: string, filter: string): Promise<Map<string, Buffer>> {
  const client = mqtt.connect(url, { reconnectPeriod: 0 });
  const marker = `edgeseg-test/retained-marker/${randomUUID()}`;
  const retained = new Map<string, Buffer>();
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`retained messages under ${filter}: no marker within 10 s`)),
        10_000,
      );
      client.on('message', (topic, payload, packet) => {
        if (topic === marker) resolve();
        else if (packet.retain) retained.set(topic, payload);
      });
      client.once('error', reject);
      client.once('connect', () =>
        client.subscribe(filter, { qos: 1 }, () =>
          client.subscribe(marker, { qos: 1 }, () => client.publish(marker, 'end', { qos: 1 })),
        ),
      );
    });
  } finally {
    clearTimeout(timer);
    client.end(true);
  }
  return retained;
}
