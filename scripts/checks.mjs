#!/usr/bin/env node
// `npm test`'s first step: `npm run lint` and `npm run typecheck` side by side (tsc keeps about one
// and a half cores busy, biome and depcruise fill the rest), each one's output printed whole when it
// ends, with its time. Fails when either fails, after both have ended.

import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const npm = process.env.npm_execpath
  ? [process.execPath, process.env.npm_execpath]
  : [process.platform === 'win32' ? 'npm.cmd' : 'npm'];

function run(script) {
  const started = Date.now();
  const [program, ...args] = npm;
  const child = spawn(program, [...args, 'run', '--silent', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  child.stdout.on('data', (chunk) => output.push(chunk));
  child.stderr.on('data', (chunk) => output.push(chunk));
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stdout.write(`npm run ${script}: could not start npm: ${error.message}\n`);
      resolve({ script, ok: false });
    });
    child.on('close', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const text = Buffer.concat(output).toString();
      process.stdout.write(
        `npm run ${script}: ${code === 0 ? 'ok' : `failed (exit code ${code})`}, ${seconds} s\n${text}`,
      );
      resolve({ script, ok: code === 0 });
    });
  });
}

const results = await Promise.all([run('lint'), run('typecheck')]);
process.exit(results.every((result) => result.ok) ? 0 : 1);
