// sd_notify for real: a unix datagram socket bound the way systemd binds its notify socket
// (SO_PASSCRED, so each datagram carries the sender's PID, which NotifyAccess=main checks) receives
// what the notifier sends from this very process.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { createSdNotifier } from '../../src/system/sd-notify.js';
import { listenNotifySocket } from '../helpers/notify-socket.js';
import { makeTempDir } from '../helpers/tmp.js';

/** A logger whose lines the test can read. */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

test('READY, WATCHDOG, STATUS and STOPPING reach NOTIFY_SOCKET from this process, so NotifyAccess=main accepts them', async () => {
  const socketPath = join(await makeTempDir(), 'notify.sock');
  const received = await listenNotifySocket(socketPath);
  const notifier = await createSdNotifier({ NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '10000000' });
  assert.equal(notifier.enabled, true);
  assert.equal(notifier.watchdogIntervalMs, 5000);
  const from = `from ${process.pid}: `;
  notifier.ready();
  await received.waitFor(new RegExp(`^${from}READY=1$`, 'm'));
  notifier.watchdog();
  await received.waitFor(new RegExp(`^${from}WATCHDOG=1$`, 'm'));
  notifier.status('segmenting\ncsi://0');
  await received.waitFor(new RegExp(`^${from}STATUS=segmenting csi://0$`, 'm'));
  notifier.stopping();
  await received.waitFor(new RegExp(`^${from}STOPPING=1$`, 'm'));
});

test('an abstract NOTIFY_SOCKET (@name) is reached too', async () => {
  const name = `@edgeseg-test-notify-${process.pid}`;
  const received = await listenNotifySocket(name);
  const notifier = await createSdNotifier({ NOTIFY_SOCKET: name });
  notifier.ready();
  await received.waitFor(new RegExp(`^from ${process.pid}: READY=1$`, 'm'));
});

test('a notification that cannot be sent is logged once per burst, naming the socket and the error', async () => {
  const missing = join(await makeTempDir(), 'no-such.sock');
  const { logger, lines } = recordingLogger();
  const notifier = await createSdNotifier({ NOTIFY_SOCKET: missing, WATCHDOG_USEC: '30000000' }, logger);
  notifier.ready();
  notifier.watchdog();
  notifier.watchdog();
  assert.equal(lines.length, 1, JSON.stringify(lines));
  assert.equal(lines[0]!.msg, 'systemd notification not sent');
  assert.equal(lines[0]!.notification, 'READY=1');
  assert.equal(lines[0]!.socket, missing);
  assert.match(String(lines[0]!.err), /^sendto .*no-such\.sock: No such file or directory$/);
});

test('without NOTIFY_SOCKET the notifier does nothing; a WATCHDOG_PID of another process means no watchdog', async () => {
  const notifier = await createSdNotifier({});
  assert.equal(notifier.enabled, false);
  assert.equal(notifier.watchdogIntervalMs, undefined);
  notifier.ready();
  const other = await createSdNotifier({
    NOTIFY_SOCKET: '/run/systemd/notify',
    WATCHDOG_USEC: '30000000',
    WATCHDOG_PID: String(process.pid + 1),
  });
  assert.equal(other.watchdogIntervalMs, undefined);
});
