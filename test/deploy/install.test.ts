// deploy/install.sh staged into a DESTDIR: the tree, the modes, idempotence, and shellcheck.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
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

test('install.sh --instance stages one config, state dir and the template unit per camera', {
  timeout: 60_000,
}, async (t) => {
  if (!statSync(join(repoRoot, 'dist/cli/index.js'), { throwIfNoEntry: false })) {
    spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: 'ignore' });
  }
  const destdir = await makeTempDir();
  const first = run(destdir, '--skip-npm', '--instance', 'front', '--instance', 'rear');
  assert.equal(first.status, 0, first.stderr);
  for (const path of [
    'etc/systemd/system/edgeseg@.service',
    'etc/systemd/system/edgeseg.service',
    'etc/edgeseg/front.yaml',
    'etc/edgeseg/rear.yaml',
    'var/lib/edgeseg/front',
    'var/lib/edgeseg/rear',
    'var/lib/edgeseg/models',
    'opt/edgeseg/models/synthetic-road-fcn8s/model.onnx',
  ])
    assert.ok(statSync(join(destdir, path), { throwIfNoEntry: false }), `missing ${path}`);
  // config.yaml belongs to the single unit: not made in instance mode.
  assert.equal(statSync(join(destdir, 'etc/edgeseg/config.yaml'), { throwIfNoEntry: false }), undefined);
  assert.equal(statSync(join(destdir, 'var/lib/edgeseg/front')).mode & 0o777, 0o750);
  assert.equal(
    await readFile(join(destdir, 'etc/systemd/system/edgeseg@.service'), 'utf8'),
    await readFile(join(repoRoot, 'systemd/edgeseg@.service'), 'utf8'),
  );
  // Each camera's config is a valid config of its own, named after the camera.
  for (const name of ['front', 'rear']) {
    const text = await readFile(join(destdir, `etc/edgeseg/${name}.yaml`), 'utf8');
    assert.equal(validateConfig(parseYaml(text), `${name}.yaml`).device_id, name);
    assert.match(text, new RegExp(`/var/lib/edgeseg/${name}/remote-config\\.json`));
  }

  await t.test('a second run keeps an edited camera config', async () => {
    const config = join(destdir, 'etc/edgeseg/front.yaml');
    await writeFile(config, 'device_id: edited-front\n');
    const second = run(destdir, '--skip-npm', '--instance', 'front');
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /kept the existing .*front\.yaml/);
    assert.equal(await readFile(config, 'utf8'), 'device_id: edited-front\n');
  });

  await t.test('an upgrade without --instance keeps to the enabled camera instances', async () => {
    // What `systemctl enable edgeseg@front` leaves behind.
    const wants = join(destdir, 'etc/systemd/system/multi-user.target.wants');
    await mkdir(wants, { recursive: true });
    await symlink('/etc/systemd/system/edgeseg@.service', join(wants, 'edgeseg@front.service'));
    const upgrade = run(destdir, '--skip-npm');
    assert.equal(upgrade.status, 0, upgrade.stderr);
    assert.match(upgrade.stdout, /camera instances found: front/);
    assert.equal(statSync(join(destdir, 'etc/edgeseg/config.yaml'), { throwIfNoEntry: false }), undefined);
  });

  await t.test('camera names that are not plain names are refused', () => {
    for (const bad of ['../etc', 'front rear', 'a;b', '', 'config', 'x'.repeat(65)]) {
      const refused = run(destdir, '--skip-npm', '--instance', bad);
      assert.equal(refused.status, 2, bad);
      assert.match(refused.stderr, /--instance needs a camera name/);
    }
    assert.equal(run(destdir, '--instance').status, 2);
  });

  await t.test('--uninstall removes the template too', () => {
    assert.equal(run(destdir, '--uninstall').status, 0);
    assert.equal(
      statSync(join(destdir, 'etc/systemd/system/edgeseg@.service'), { throwIfNoEntry: false }),
      undefined,
    );
    assert.ok(statSync(join(destdir, 'etc/edgeseg/rear.yaml'), { throwIfNoEntry: false }));
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
