// systemd/edgeseg.service passes `systemd-analyze verify`. The unit's binary, script and user do not
// exist in a test container, so it is verified as a copy pointing at this node, a stub script and root.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const unitText = readFileSync(join(repoRoot, 'systemd/edgeseg.service'), 'utf8');

async function verify(text: string): Promise<{ status: number | null; output: string }> {
  const dir = await makeTempDir();
  const script = join(dir, 'index.js');
  await writeFile(script, '');
  const localised = text
    .replace('/opt/edgeseg/bin/node /opt/edgeseg/dist/cli/index.js', `${process.execPath} ${script}`)
    .replace(/^User=.*$/m, 'User=root')
    .replace(/^Group=.*$/m, 'Group=root');
  const unitPath = join(dir, 'edgeseg.service');
  await writeFile(unitPath, localised);
  const result = spawnSync('systemd-analyze', ['verify', '--man=no', unitPath], { encoding: 'utf8' });
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
