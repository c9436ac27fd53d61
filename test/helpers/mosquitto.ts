// A real mosquitto broker on a free loopback port, started and stopped by the tests, plus an MQTT
// client that records messages and waits for the ones a test expects.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { freePort } from './net.js';

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

/** Accounts and an ACL instead of anonymous access; `probe` is the account start() checks readiness with. */
export interface BrokerAuth {
  passwordFile: string;
  aclFile: string;
  probe: { username: string; password: string };
}

export class Mosquitto {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly configPath: string,
    readonly tls?: BrokerTls,
    private readonly auth?: BrokerAuth,
  ) {}

  static async start(options: { tls?: BrokerTls; auth?: BrokerAuth } = {}): Promise<Mosquitto> {
    // Its own folder, removed by stop(): the broker outlives the hook that starts it.
    const dir = await mkdtemp(join(tmpdir(), 'edgeseg-mosquitto-'));
    const port = await freePort();
    const configPath = join(dir, 'mosquitto.conf');
    const { tls, auth } = options;
    // Run as root, mosquitto drops to its own user, which cannot read the test's key files;
    // `user root` keeps it as it is (and has no effect when the tests do not run as root).
    const tlsLines = tls
      ? `user root\ncafile ${tls.ca}\ncertfile ${tls.cert}\nkeyfile ${tls.key}\nrequire_certificate ${tls.requireClientCertificate ? 'true' : 'false'}\n`
      : '';
    const authLines = auth
      ? `user root\nallow_anonymous false\npassword_file ${auth.passwordFile}\nacl_file ${auth.aclFile}\n`
      : 'allow_anonymous true\n';
    await writeFile(configPath, `listener ${port} 127.0.0.1\n${tlsLines}${authLines}persistence false\n`);
    const broker = new Mosquitto(port, dir, configPath, tls, auth);
    await broker.resume();
    return broker;
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

  /** Starts (again) on the same port and waits until it accepts connections. */
  async resume(): Promise<void> {
    this.child = spawn(MOSQUITTO, ['-c', this.configPath], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const client = mqtt.connect(this.url, {
        reconnectPeriod: 0,
        connectTimeout: 1000,
        ...this.clientOptions(),
        ...(this.auth ? this.auth.probe : {}),
      });
      const ok = await new Promise<boolean>((resolve) => {
        client.once('connect', () => resolve(true));
        client.once('error', () => resolve(false));
        client.once('close', () => resolve(false));
      });
      client.end(true);
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`mosquitto did not start on port ${this.port}`);
  }

  /** Kills the broker (SIGKILL: an outage, not a clean shutdown). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
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
