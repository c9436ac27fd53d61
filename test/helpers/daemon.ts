// The daemon as a vehicle runs it: `edgeseg run` in a real subprocess (from src/ through tsx), its
// stderr kept for failure messages (and echoed when EDGESEG_DEBUG_DAEMON is set).

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { repoRoot } from './cli.js';
import type { Recorder } from './mosquitto.js';

export interface DaemonProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

export function spawnDaemon(args: string[]): DaemonProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src/cli/index.ts'), 'run', ...args],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.EDGESEG_DEBUG_DAEMON) process.stderr.write(chunk);
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

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

/** Writes DIR/config.yaml: a synthetic 320×192 camera, JSON logs, state under DIR, then `fields`. */
export async function writeDaemonConfig(dir: string, fields: Record<string, unknown>): Promise<string> {
  const path = join(dir, 'config.yaml');
  const defaults = {
    source: 'test://synthetic-road',
    state_dir: join(dir, 'state'),
    capture: { width: 320, height: 192 },
    log: { format: 'json' },
  };
  await writeFile(path, stringify({ ...defaults, ...fields }));
  return path;
}

/** Starts the daemon and waits for its retained `online` status (the recorder subscribes to BASE/#). */
export async function startDaemonOnline(
  configPath: string,
  recorder: Recorder,
  base: string,
): Promise<DaemonProcess> {
  const daemon = spawnDaemon(['--config', configPath]);
  await recorder
    .waitFor(
      (m) => m.topic === `${base}/status` && JSON.parse(m.payload.toString()).state === 'online',
      60_000,
    )
    .catch((error: Error) => {
      daemon.child.kill('SIGKILL');
      throw new Error(`${error.message}; daemon stderr:\n${daemon.stderr()}`);
    });
  return daemon;
}
