// The real daemon as a subprocess (`edgeseg run --config`, started as cliNodeArgs says), with the bundled
// demo model: what a test needs to start it, read its log and wait for it to come online or exit.
// A test file that runs it against a broker calls useDaemonSuite once, at top level: a folder, a real
// mosquitto (TLS, accounts + ACL, persistence as asked), and the daemons and recorders it starts,
// all taken down after the file.

import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { stringify } from 'yaml';
import { cliNodeArgs, repoRoot } from './cli.js';
import { type BrokerOptions, Mosquitto, type Received, Recorder } from './mosquitto.js';
import { OutputWatcher } from './output.js';
import { makeSuiteDir } from './tmp.js';

export const DEMO_MODEL_DIR = join(repoRoot, 'models', 'synthetic-road-fcn8s');

export interface DaemonProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Its stderr (the log), to count lines in or wait on. */
  log: OutputWatcher;
  stderr(): string;
  /** Waits until the log matches, or fails with the log (also when the daemon exits first). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL if still running (for finally blocks). */
  kill(): void;
  /** Neither exited nor killed. */
  running(): boolean;
}

/** How a daemon is started: extra environment (credentials, tokens) and extra arguments. */
export interface DaemonStartOptions {
  env?: NodeJS.ProcessEnv;
  args?: string[];
}

/** `edgeseg run --config configPath` (with no config path: `edgeseg run`, e.g. with args `--demo`). */
export function startDaemonProcess(
  configPath: string | null,
  options: DaemonStartOptions = {},
): DaemonProcess {
  const child = spawn(
    process.execPath,
    [
      ...cliNodeArgs(),
      'run',
      ...(configPath === null ? [] : ['--config', configPath]),
      ...(options.args ?? []),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  const log = OutputWatcher.stderr(child, process.env.EDGESEG_DEBUG_DAEMON ? process.stderr : undefined);
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    log,
    stderr: () => log.text,
    async waitForLog(pattern, timeoutMs = 60_000) {
      await log.waitFor(pattern, { timeoutMs });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/**
 * A daemon config for tests: the synthetic camera and the demo model, JSON logs, fast reconnects,
 * inference on the main thread. The default (`auto`) loads the model in a worker, times it and, the
 * demo model being fast, loads it again in-process: 0.4 s more CPU per start (1.2-1.6 s against
 * 1.6-1.8 s, measured), for a choice that test/engine/threaded-engine.test.ts checks; the daemon on
 * a worker is checked by tests that ask for it (integration/daemon.test.ts, daemon/inference-reload).
 */
export function testConfig(dir: string, brokerUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    device_id: 'cam-test',
    source: 'test://synthetic-road',
    model: join(dir, 'models', 'road-a'),
    state_dir: join(dir, 'state'),
    fps: 8,
    capture: { width: 192, height: 64 },
    engine: { inference_thread: 'main' },
    mqtt: { url: brokerUrl, reconnect_period_ms: 300 },
    publish: { health: { interval_ms: 1000 } },
    log: { format: 'json' },
    ...overrides,
  };
}

/** models/road-a (the demo model), models/road-b (a copy) and models/broken (does not load). */
export async function makeModelsDir(dir: string): Promise<string> {
  const models = join(dir, 'models');
  await mkdir(models, { recursive: true });
  await cp(DEMO_MODEL_DIR, join(models, 'road-a'), { recursive: true });
  await cp(join(models, 'road-a'), join(models, 'road-b'), { recursive: true });
  await cp(join(models, 'road-a'), join(models, 'broken'), { recursive: true });
  await writeFile(join(models, 'broken', 'model.onnx'), 'not an onnx model');
  return models;
}

export async function writeConfig(path: string, config: Record<string, unknown>): Promise<string> {
  await writeFile(path, stringify(config));
  return path;
}

export const json = (payload: Buffer) => JSON.parse(payload.toString()) as Record<string, unknown>;

/** A region covering the picture between x0 and x1 (normalised), top to bottom. */
export function verticalBand(name: string, x0: number, x1: number): { name: string; polygon: number[][] } {
  return {
    name,
    polygon: [
      [x0, 0],
      [x1, 0],
      [x1, 1],
      [x0, 1],
    ],
  };
}

/** Matches an `online` status message of the device under `base`. */
export function isOnlineStatus(base: string): (m: Received) => boolean {
  return (m) => m.topic === `${base}/status` && json(m.payload).state === 'online';
}

/** Starts the daemon and waits for its `online` status (the recorder must subscribe to BASE/status). */
export async function startDaemonOnline(
  configPath: string,
  recorder: Recorder,
  base: string,
  options: DaemonStartOptions = {},
): Promise<DaemonProcess> {
  return waitOnline(startDaemonProcess(configPath, options), recorder, base);
}

async function waitOnline(daemon: DaemonProcess, recorder: Recorder, base: string): Promise<DaemonProcess> {
  await recorder.waitFor(isOnlineStatus(base), 60_000).catch((error: Error) => {
    daemon.kill();
    throw new Error(`${error.message}; daemon stderr:\n${daemon.stderr()}`);
  });
  return daemon;
}

/**
 * A test file's folder (holding makeModelsDir's models), its real mosquitto broker, and the daemons
 * and recorders it started: after() kills those daemons still running (SIGKILL), ends the
 * recorders, stops the broker and removes the folder.
 */
export interface DaemonSuite {
  dir: string;
  broker: Mosquitto;
  /** `edgeseg run --config configPath` (startDaemonProcess), killed after the file if still running. */
  startDaemon(configPath: string, options?: DaemonStartOptions): DaemonProcess;
  /** startDaemon, then waits for its `online` status on `recorder` (subscribed to BASE/status). */
  startDaemonOnline(
    configPath: string,
    recorder: Recorder,
    base: string,
    options?: DaemonStartOptions,
  ): Promise<DaemonProcess>;
  /** A Recorder on the suite's broker (with its TLS client certificate, if any), ended after the file. */
  recorder(topics: string[], options?: IClientOptions): Promise<Recorder>;
}

/**
 * Registers the before/after hooks that make a DaemonSuite and take it down again; its fields are
 * set once before() has run. Use it for every test file that runs the daemon against a broker.
 *
 * - `broker`: Mosquitto.start's options (a TLS listener, accounts and an ACL, persistence), or a
 *   function that makes them in the suite's folder first (certificates, a password file).
 * - `setUp` runs at the end of that same hook, for a file's own set-up on the suite: write its
 *   config (testConfig, with a free web port from freePort), start its daemon with
 *   suite.startDaemon / suite.startDaemonOnline and its recorders with suite.recorder. node:test
 *   does not wait for one top-level before() to finish before the next starts: do it here, not in
 *   another before().
 */
export function useDaemonSuite(
  options: {
    broker?: BrokerOptions | ((dir: string) => Promise<BrokerOptions>);
    setUp?: (suite: DaemonSuite) => Promise<void>;
  } = {},
): DaemonSuite {
  const daemons: DaemonProcess[] = [];
  const recorders: Recorder[] = [];
  let remove: (() => Promise<void>) | undefined;
  const suite: DaemonSuite = {
    dir: '',
    broker: undefined as unknown as Mosquitto,
    startDaemon(configPath, startOptions) {
      const daemon = startDaemonProcess(configPath, startOptions);
      daemons.push(daemon);
      return daemon;
    },
    startDaemonOnline(configPath, recorder, base, startOptions) {
      return waitOnline(suite.startDaemon(configPath, startOptions), recorder, base);
    },
    async recorder(topics, clientOptions = {}) {
      const recorder = await Recorder.connect(suite.broker.url, topics, {
        ...suite.broker.clientOptions(),
        ...clientOptions,
      });
      recorders.push(recorder);
      return recorder;
    },
  };
  before(async () => {
    const made = await makeSuiteDir();
    remove = made.remove;
    suite.dir = made.dir;
    await makeModelsDir(made.dir);
    const brokerOptions =
      typeof options.broker === 'function' ? await options.broker(made.dir) : options.broker;
    suite.broker = await Mosquitto.start(brokerOptions);
    await options.setUp?.(suite);
  });
  after(async () => {
    for (const daemon of daemons) daemon.kill();
    for (const recorder of recorders) recorder.end();
    await Promise.all(daemons.map((daemon) => daemon.exited));
    await suite.broker?.stop();
    await remove?.();
  });
  return suite;
}
