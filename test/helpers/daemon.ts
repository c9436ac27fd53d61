// The daemon as a vehicle runs it: `edgeseg run` in a real subprocess (from src/ through tsx), its
// stderr kept for failure messages (and echoed when EDGESEG_DEBUG_DAEMON is set).

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './cli.js';

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
