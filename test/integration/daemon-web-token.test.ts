// The daemon with its web server off loopback: it refuses to start without a token (naming the
// variable to set), and with one it warns at start and answers only requests that carry it.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { testConfig, useDaemonSuite, writeConfig } from '../helpers/daemon.js';
import { freePort } from '../helpers/net.js';

const BASE = 'edgeseg/cam-token';
const TOKEN = 'token-for-the-test-0123456789';
const suite = useDaemonSuite();

const config = async (port: number) =>
  writeConfig(
    join(suite.dir, 'config.yaml'),
    testConfig(suite.dir, suite.broker.url, {
      device_id: 'cam-token',
      http: { enabled: true, host: '0.0.0.0', port },
    }),
  );

test('http.host 0.0.0.0 without EDGESEG_HTTP_TOKEN: the daemon does not start and says what to set', {
  timeout: 90_000,
}, async () => {
  const daemon = suite.startDaemon(await config(await freePort()));
  try {
    const code = await daemon.exited;
    assert.notEqual(code, 0);
    assert.match(daemon.stderr(), /http\.host: 0\.0\.0\.0 is reachable from other machines/);
    assert.match(daemon.stderr(), /EDGESEG_HTTP_TOKEN/);
  } finally {
    daemon.kill();
  }
});

test('with the token: a warning at start, 401 without it, 200 with it', { timeout: 90_000 }, async () => {
  const port = await freePort();
  const path = await config(port);
  const recorder = await suite.recorder([`${BASE}/status`]);
  const daemon = await suite.startDaemonOnline(path, recorder, BASE, {
    env: { EDGESEG_HTTP_TOKEN: TOKEN },
  });
  try {
    await daemon.waitForLog(
      /"level":40.*reachable from other machines|reachable from other machines.*"level":40/,
    );
    const url = `http://127.0.0.1:${port}/api/config`;
    assert.equal((await fetch(url)).status, 401);
    const ok = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.doesNotMatch(await ok.text(), new RegExp(TOKEN), 'the token is not in /api/config');
  } finally {
    recorder.end();
    daemon.kill();
  }
});
