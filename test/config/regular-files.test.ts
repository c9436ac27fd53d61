// Files read with a size limit (config, model manifest, persisted remote config) must be regular
// files: a link to /dev/zero or a FIFO is refused at once, before a byte is read, and left alone.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, readConfigFile } from '../../src/config/load.js';
import { readManifest } from '../../src/model/manifest.js';
import { makeTempDir } from '../helpers/tmp.js';

const minimal = {
  device_id: 'cam-front',
  source: 'test://synthetic-road',
  model: 'models/synthetic-road-fcn8s',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
};

/** Runs `read`, which must fail; returns the error with the time and the RSS growth it took. */
async function refusal(
  read: () => Promise<unknown>,
): Promise<{ message: string; ms: number; rssMb: number }> {
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const error = await read().then(
    () => assert.fail('expected the read to be refused'),
    (caught: Error) => caught,
  );
  return {
    message: error.message,
    ms: performance.now() - started,
    rssMb: (process.memoryUsage().rss - rss) / 1_048_576,
  };
}

test('a config file that links to /dev/zero or is a FIFO is refused at once, naming the file', async () => {
  const dir = await makeTempDir();
  const linked = join(dir, 'config.yaml');
  await symlink('/dev/zero', linked);
  const zero = await refusal(() => readConfigFile(linked));
  assert.match(zero.message, /config\.yaml: the config file is not a regular file \(a character device\)/);
  // Reading /dev/zero up to the string limit took seconds and hundreds of MB.
  assert.ok(zero.ms < 500, `refused in ${zero.ms.toFixed(0)} ms`);
  assert.ok(zero.rssMb < 50, `RSS grew ${zero.rssMb.toFixed(0)} MB`);
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  // Without O_NONBLOCK the open waits for a writer for ever (the test would time out).
  assert.match((await refusal(() => readConfigFile(fifo))).message, /not a regular file \(a FIFO\)/);
  // A link to a real file is how /etc layouts are often made: still read.
  await writeFile(join(dir, 'real.yaml'), 'fps: 3\n');
  await symlink(join(dir, 'real.yaml'), join(dir, 'link.yaml'));
  assert.deepEqual(await readConfigFile(join(dir, 'link.yaml')), { fps: 3 });
});

test('a model manifest that links to /dev/zero is refused at once', async () => {
  const dir = await makeTempDir();
  await mkdir(join(dir, 'model'));
  await symlink('/dev/zero', join(dir, 'model', 'manifest.json'));
  const zero = await refusal(() => readManifest(join(dir, 'model')));
  assert.match(zero.message, /manifest\.json: is not a regular file \(a character device\)/);
  assert.ok(zero.ms < 500, `refused in ${zero.ms.toFixed(0)} ms`);
  assert.ok(zero.rssMb < 50, `RSS grew ${zero.rssMb.toFixed(0)} MB`);
});

test('a persisted remote config that is a link is refused at once and left in place, not renamed', async () => {
  const dir = await makeTempDir();
  const remote = join(dir, 'remote-config.json');
  await symlink('/dev/zero', remote);
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const loaded = await loadConfig({ ...minimal, state_dir: dir }, 'config.yaml');
  const ms = performance.now() - started;
  assert.ok(ms < 500, `loaded in ${ms.toFixed(0)} ms`);
  assert.ok(process.memoryUsage().rss - rss < 50 * 1_048_576, 'nothing large was read');
  assert.equal(loaded.config.fps, 10, 'the device starts from its local file');
  assert.match(loaded.rejected?.reason ?? '', /is a symbolic link; .* remove the link/);
  assert.equal(loaded.rejected?.file, remote);
  assert.ok(lstatSync(remote).isSymbolicLink(), 'the link stays where it is');
  assert.deepEqual(
    (await readdir(dir)).filter((name) => name.startsWith('remote-config.rejected-')),
    [],
    'nothing was renamed aside',
  );
  // A link to a regular file is refused too: only edgeseg writes this file, by rename.
  await writeFile(join(dir, 'elsewhere.json'), JSON.stringify({ fps: 3 }));
  execFileSync('ln', ['-sf', join(dir, 'elsewhere.json'), remote]);
  assert.equal((await loadConfig({ ...minimal, state_dir: dir }, 'config.yaml')).config.fps, 10);
  assert.ok(existsSync(join(dir, 'elsewhere.json')));
});
