// `edgeseg run --demo` (what `npm start` runs): embedded broker, synthetic camera, bundled model.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { repoRoot } from '../helpers/cli.js';
import { Recorder } from '../helpers/mosquitto.js';
import { OutputWatcher } from '../helpers/output.js';

test('the demo runs with no broker and no camera, publishes stats from the bundled model, stops on SIGINT', {
  timeout: 120_000,
}, async () => {
  // Port 0: the demo's broker binds a port of the system's choosing and prints it.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'src/cli/index.ts'), 'run', '--demo', '--port', '0'],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = OutputWatcher.stderr(child);
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const [, url] = await log.waitFor(/edgeseg demo running: broker (mqtt:\/\/127\.0\.0\.1:\d+)/);
    assert.match(log.text, /edgeseg watch --broker/);
    const recorder = await Recorder.connect(url!, ['edgeseg/demo/#']);
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
    assert.equal(await exited, 0, log.text);
  } finally {
    child.kill('SIGKILL');
  }
});
