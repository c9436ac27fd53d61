// The real daemon as a subprocess (`edgeseg run --config`, from src/ through tsx), with the bundled
// demo model: what a test needs to start it, read its log and wait for it to come online or exit.

import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { stringify } from 'yaml';
import { repoRoot } from './cli.js';
import { Mosquitto, type Received, type Recorder } from './mosquitto.js';
import { makeSuiteDir } from './tmp.js';

export const DEMO_MODEL_DIR = join(repoRoot, 'models', 'synthetic-road-fcn8s');

export interface DaemonProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stderr(): string;
  /** Waits until the log matches, or fails with the log. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL if still running (for finally blocks). */
  kill(): void;
  /** Neither exited nor killed. */
  running(): boolean;
}

export function startDaemonProcess(
  configPath: string,
  options: { env?: NodeJS.ProcessEnv; args?: string[] } = {},
): DaemonProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'src/cli/index.ts'),
      'run',
      '--config',
      configPath,
      ...(options.args ?? []),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.EDGESEG_DEBUG_DAEMON) process.stderr.write(chunk);
    for (const listener of listeners) listener();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => stderr,
    waitForLog(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stderr)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`log never matched ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/** A daemon config for tests: the synthetic camera and the demo model, JSON logs, fast reconnects. */
export function testConfig(dir: string, brokerUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    device_id: 'cam-test',
    source: 'test://synthetic-road',
    model: join(dir, 'models', 'road-a'),
    state_dir: join(dir, 'state'),
    fps: 8,
    capture: { width: 192, height: 64 },
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
): Promise<DaemonProcess> {
  const daemon = startDaemonProcess(configPath);
  await recorder.waitFor(isOnlineStatus(base), 60_000).catch((error: Error) => {
    daemon.kill();
    throw new Error(`${error.message}; daemon stderr:\n${daemon.stderr()}`);
  });
  return daemon;
}

/** A test file's folder (holding makeModelsDir's models) and its real mosquitto broker. */
export interface DaemonSuite {
  dir: string;
  broker: Mosquitto;
}

/**
 * Registers the before/after hooks that make a DaemonSuite and take it down again; its fields are
 * set once before() has run. `setUp` runs at the end of that same hook, for a file's own set-up on
 * the suite (node:test does not wait for one top-level before() to finish before the next starts).
 */
export function useDaemonSuite(
  options: {
    broker?: Parameters<typeof Mosquitto.start>[0];
    setUp?: (suite: DaemonSuite) => Promise<void>;
  } = {},
): DaemonSuite {
  const suite = {} as DaemonSuite;
  let remove: (() => Promise<void>) | undefined;
  before(async () => {
    const made = await makeSuiteDir();
    remove = made.remove;
    suite.dir = made.dir;
    await makeModelsDir(made.dir);
    suite.broker = await Mosquitto.start(options.broker);
    await options.setUp?.(suite);
  });
  after(async () => {
    await suite.broker?.stop();
    await remove?.();
  });
  return suite;
}
