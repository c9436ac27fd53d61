// deploy/install.sh staged into a DESTDIR: the tree, the modes, idempotence, and shellcheck.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const script = join(repoRoot, 'deploy/install.sh');
const run = (destdir: string, ...args: string[]) =>
  spawnSync('bash', [script, ...args], { env: { ...process.env, DESTDIR: destdir }, encoding: 'utf8' });

test('install.sh stages the app, config, unit and state dirs under DESTDIR, and is idempotent', {
  timeout: 60_000,
}, async (t) => {
  if (!statSync(join(repoRoot, 'dist/cli/index.js'), { throwIfNoEntry: false })) {
    spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore' });
  }
  const destdir = await makeTempDir();
  const first = run(destdir, '--skip-npm');
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /installed .*etc\/edgeseg\/config\.yaml/);
  for (const path of [
    'opt/edgeseg/dist/cli/index.js',
    'opt/edgeseg/package.json',
    'opt/edgeseg/models/synthetic-road-fcn8s/model.onnx',
    'etc/edgeseg/config.yaml',
    'etc/systemd/system/edgeseg.service',
    'var/lib/edgeseg/engine-cache',
    'var/lib/edgeseg/models',
  ]) {
    assert.ok(statSync(join(destdir, path), { throwIfNoEntry: false }), `missing ${path}`);
  }
  assert.equal(statSync(join(destdir, 'etc/edgeseg/edgeseg.env')).mode & 0o777, 0o600);
  assert.equal(statSync(join(destdir, 'var/lib/edgeseg')).mode & 0o777, 0o750);

  await t.test('a second run keeps an edited config and env file', async () => {
    const config = join(destdir, 'etc/edgeseg/config.yaml');
    await writeFile(config, 'device_id: edited\n');
    const second = run(destdir, '--skip-npm');
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /kept the existing/);
    assert.equal(await readFile(config, 'utf8'), 'device_id: edited\n');
  });

  await t.test('--uninstall removes the app and unit but keeps config and state; --purge removes all', () => {
    assert.equal(run(destdir, '--uninstall').status, 0);
    assert.deepEqual(readdirSync(join(destdir, 'opt')), []);
    assert.ok(statSync(join(destdir, 'etc/edgeseg/config.yaml'), { throwIfNoEntry: false }));
    assert.equal(run(destdir, '--uninstall', '--purge').status, 0);
    assert.equal(statSync(join(destdir, 'etc/edgeseg'), { throwIfNoEntry: false }), undefined);
  });

  await t.test('an unknown option is refused', () => {
    const bad = run(destdir, '--frobnicate');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option --frobnicate/);
  });
});

test('every shell script passes shellcheck', () => {
  const scripts = ['deploy', 'native', 'scripts']
    .filter((dir) => statSync(join(repoRoot, dir), { throwIfNoEntry: false }))
    .flatMap((dir) =>
      readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: false }).map((f) =>
        join(repoRoot, dir, String(f)),
      ),
    )
    .filter((f) => f.endsWith('.sh'));
  assert.ok(scripts.length > 0);
  const result = spawnSync('shellcheck', ['-x', ...scripts], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
