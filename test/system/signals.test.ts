// SIGTERM handling as the daemon uses it, in a real child process: a shutdown that finishes exits
// 0; one stuck (as in native session creation) exits 1 at the deadline, saying so.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';

const signalsModule = new URL('../../src/system/signals.ts', import.meta.url).href;

async function runChild(handlerMs: number | 'never', deadlineMs: number) {
  const handler =
    handlerMs === 'never'
      ? 'new Promise(() => { setInterval(() => {}, 1000); })'
      : `new Promise((resolve) => setTimeout(resolve, ${handlerMs}))`;
  const script = `
    const { onShutdown } = await import(${JSON.stringify(signalsModule)});
    onShutdown(() => ${handler}, (m) => process.stderr.write(m + '\\n'), ${deadlineMs});
    setInterval(() => {}, 1000);
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(chunk.toString().trim(), 'ready');
  const started = Date.now();
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr, ms: Date.now() - started };
}

test('a shutdown that finishes exits 0 before the deadline', async () => {
  const { code, stderr } = await runChild(100, 5000);
  assert.equal(code, 0, stderr);
});

test('a shutdown stuck past the deadline exits 1 and says why', async () => {
  const { code, stderr, ms } = await runChild('never', 800);
  assert.equal(code, 1);
  assert.match(stderr, /shutdown still not done after 0\.8 s: exiting now/);
  assert.ok(ms >= 700 && ms < 10_000, `${ms} ms`);
});
