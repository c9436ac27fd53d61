// systemd/edgeseg.service and the per-camera template edgeseg@.service pass `systemd-analyze
// verify`. The unit's binary, script and user do not exist in a test container, so each is verified
// as a copy pointing at this node, a stub script and root. The template is generated from the single
// unit, and a test keeps it so.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { instanceUnit } from '../../scripts/generate-instance-unit.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const unitText = readFileSync(join(repoRoot, 'systemd/edgeseg.service'), 'utf8');
const templateText = readFileSync(join(repoRoot, 'systemd/edgeseg@.service'), 'utf8');

/** Verifies `text` as a unit file named `fileName`, checking `unitName` (an instance for a template). */
async function verify(
  text: string,
  fileName = 'edgeseg.service',
  unitName = fileName,
): Promise<{ status: number | null; output: string }> {
  const dir = await makeTempDir();
  const script = join(dir, 'index.js');
  await writeFile(script, '');
  const localised = text
    .replace('/opt/edgeseg/bin/node /opt/edgeseg/dist/cli/index.js', `${process.execPath} ${script}`)
    .replace(/^User=.*$/m, 'User=root')
    .replace(/^Group=.*$/m, 'Group=root');
  await writeFile(join(dir, fileName), localised);
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, unitName)], {
    encoding: 'utf8',
  });
  if (result.error)
    throw new Error(`systemd-analyze: ${result.error.message} (run scripts/ensure-test-tools.mjs)`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('the unit is a notify service with a watchdog, restarts and hardening', () => {
  for (const line of [
    'Type=notify',
    'NotifyAccess=main',
    'WatchdogSec=30',
    'Restart=on-failure',
    'User=edgeseg',
    'SupplementaryGroups=video',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'ReadWritePaths=/var/lib/edgeseg',
    'DevicePolicy=closed',
    'DeviceAllow=/dev/nvmap rw',
    'EnvironmentFile=-/etc/edgeseg/edgeseg.env',
    'Environment=MALLOC_ARENA_MAX=2',
  ]) {
    assert.ok(unitText.split('\n').includes(line), `missing: ${line}`);
  }
});

// systemd-analyze is installed by scripts/ensure-test-tools.mjs before any test runs.
test('systemd-analyze verify accepts the unit', async () => {
  const { status, output } = await verify(unitText);
  const complaints = output.split('\n').filter((line) => line.includes('edgeseg.service'));
  assert.equal(status, 0, output);
  assert.deepEqual(complaints, []);
});

test('systemd-analyze verify rejects a broken copy (so the check above can fail)', async () => {
  const { output } = await verify(unitText.replace('Type=notify', 'Type=notifyy'));
  assert.match(output, /edgeseg\.service:\d+: Failed to parse service type/);
});

test('edgeseg@.service is generated from edgeseg.service and up to date', () => {
  assert.equal(
    templateText,
    instanceUnit(unitText),
    'run: node --import tsx scripts/generate-instance-unit.ts',
  );
  // A single unit the generator no longer understands is an error naming what it looked for.
  assert.throws(
    () => instanceUnit(unitText.replace(/^StateDirectory=.*$/m, 'StateDirectory=other')),
    /expected exactly one line for StateDirectory=edgeseg, found 0/,
  );
});

test('each camera instance has its own config, secrets and state dir, and the models stay shared', () => {
  const lines = templateText.split('\n');
  const singleExecStart = unitText.split('\n').find((line) => line.startsWith('ExecStart='))!;
  for (const line of [
    singleExecStart.replace('--config /etc/edgeseg/config.yaml', '--config /etc/edgeseg/%i.yaml'),
    'EnvironmentFile=-/etc/edgeseg/edgeseg.env',
    'EnvironmentFile=-/etc/edgeseg/%i.env',
    'Environment=NODE_ENV=production EDGESEG_STATE_DIR=/var/lib/edgeseg/%i',
    'StateDirectory=edgeseg/%i',
    'ReadWritePaths=/var/lib/edgeseg/%i',
  ])
    assert.ok(lines.includes(line), `missing: ${line}`);
  assert.ok(!templateText.includes('/etc/edgeseg/config.yaml'));
});

test('systemd-analyze verify accepts an instance of the template, and rejects a broken one', async () => {
  const good = await verify(templateText, 'edgeseg@.service', 'edgeseg@front.service');
  const complaints = good.output.split('\n').filter((line) => line.includes('edgeseg@'));
  assert.equal(good.status, 0, good.output);
  assert.deepEqual(complaints, []);
  const broken = await verify(
    templateText.replace('Type=notify', 'Type=notifyy'),
    'edgeseg@.service',
    'edgeseg@front.service',
  );
  assert.match(broken.output, /edgeseg@\.service:\d+: Failed to parse service type/);
});
