// `edgeseg run --demo` (what `npm start` runs): embedded broker, synthetic camera, bundled model.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { repoRoot } from '../helpers/cli.js';
import { Recorder } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

test('the demo runs with no broker and no camera, publishes stats from the bundled model, serves the live page, stops on SIGINT', {
  timeout: 120_000,
}, async () => {
  const port = await freePort();
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'src/cli/index.ts'),
      'run',
      '--demo',
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('edgeseg demo running') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.match(stderr, new RegExp(`broker mqtt://127\\.0\\.0\\.1:${port}`), stderr);
    assert.match(stderr, /edgeseg watch --broker/);
    assert.match(stderr, new RegExp(`live page: +http://127\\.0\\.0\\.1:${httpPort}/\n`));
    const page = await fetch(`http://127.0.0.1:${httpPort}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<img id="stream"/);
    const recorder = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['edgeseg/demo/#']);
    const stats = JSON.parse(
      (await recorder.waitFor((m) => m.topic === 'edgeseg/demo/stats')).payload.toString(),
    );
    const manifest = await readManifest(join(repoRoot, 'models/synthetic-road-fcn8s'));
    assert.deepEqual(
      Object.keys(stats.classFractions),
      manifest.classes.map((c) => c.name),
    );
    assert.ok(stats.regions.lane_ahead);
    recorder.end();
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
  } finally {
    child.kill('SIGKILL');
  }
});
