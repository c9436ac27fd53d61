// sd_notify for real: a unix datagram socket (python3's socket module, as systemd's own would be)
// receives what the daemon sends.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSdNotifier } from '../../src/system/sd-notify.js';
import { makeTempDir } from '../helpers/tmp.js';

const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(8)
print("ready", flush=True)
try:
    while True:
        print(s.recv(4096).decode().replace("\\n", "|"), flush=True)
except socket.timeout:
    pass
`;

test('READY=1, WATCHDOG=1 and STOPPING=1 reach NOTIFY_SOCKET; the watchdog interval is half of WATCHDOG_USEC', {
  timeout: 30_000,
}, async () => {
  const socketPath = join(await makeTempDir(), 'notify.sock');
  const listener = spawn('python3', ['-c', LISTENER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = '';
  listener.stdout.on('data', (chunk: Buffer) => {
    received += chunk.toString();
  });
  try {
    while (!received.includes('ready')) await new Promise((resolve) => setTimeout(resolve, 50));
    const notifier = await createSdNotifier({ NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '10000000' });
    assert.equal(notifier.enabled, true);
    assert.equal(notifier.watchdogIntervalMs, 5000);
    notifier.ready();
    await waitFor(
      () => /READY=1/.test(received),
      () => received,
    );
    notifier.watchdog();
    await waitFor(
      () => /WATCHDOG=1/.test(received),
      () => received,
    );
    notifier.stopping();
    await waitFor(
      () => /STOPPING=1/.test(received),
      () => received,
    );
  } finally {
    listener.kill();
  }
});

test('without NOTIFY_SOCKET (not under systemd) the notifier does nothing', async () => {
  const notifier = await createSdNotifier({});
  assert.equal(notifier.enabled, false);
  assert.equal(notifier.watchdogIntervalMs, undefined);
  notifier.ready();
});

async function waitFor(condition: () => boolean, received: () => string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`notification not received (got: ${received()})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
