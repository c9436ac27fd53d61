// systemd notifications (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...), sent by this process itself
// as datagrams on NOTIFY_SOCKET (src/system/unix-datagram.ts): no process per message, and systemd,
// which checks the sender's PID, accepts them under NotifyAccess=main. A notification that cannot be
// sent is logged (once per burst): without it the watchdog lapses and systemd restarts the service,
// and the journal must say why. Without NOTIFY_SOCKET (not started by systemd) every call is a no-op.

import { BurstLogger } from './burst-log.js';
import { errorMessage } from './errors.js';
import { createLogger, type Logger } from './log.js';

export interface SdNotifier {
  readonly enabled: boolean;
  /** Half of WatchdogSec when systemd expects keep-alives from us, else undefined. */
  readonly watchdogIntervalMs: number | undefined;
  ready(): void;
  watchdog(): void;
  stopping(): void;
  status(text: string): void;
  /** Asks systemd for `ms` more before it gives up on the start (or stop): EXTEND_TIMEOUT_USEC. */
  extendTimeout(ms: number): void;
}

const DISABLED: SdNotifier = {
  enabled: false,
  watchdogIntervalMs: undefined,
  ready() {},
  watchdog() {},
  stopping() {},
  status() {},
  extendTimeout() {},
};

/**
 * The notifier for this process's environment. `logger` receives the failures (the daemon passes
 * its own; the default writes JSON lines to stderr, which systemd puts in the journal).
 */
export async function createSdNotifier(
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = createLogger(),
): Promise<SdNotifier> {
  const socketPath = env.NOTIFY_SOCKET;
  if (!socketPath) return DISABLED;
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
  const watchdogIntervalMs =
    Number.isFinite(watchdogUsec) && watchdogUsec > 0 && watchdogPid === process.pid
      ? watchdogUsec / 2000
      : undefined;
  const failures = new BurstLogger(logger);
  const send = await datagramSender(socketPath, failures);
  return {
    enabled: true,
    watchdogIntervalMs,
    ready: () => send('READY=1'),
    watchdog: () => send('WATCHDOG=1'),
    stopping: () => send('STOPPING=1'),
    status: (text) => send(`STATUS=${text.replace(/\n/g, ' ')}`),
    extendTimeout: (ms) => send(`EXTEND_TIMEOUT_USEC=${Math.round(ms * 1000)}`),
  };
}

async function datagramSender(socketPath: string, failures: BurstLogger): Promise<(message: string) => void> {
  const fail = (message: string, error: unknown) =>
    failures.warn('sd_notify', 'systemd notification not sent', {
      notification: message,
      socket: socketPath,
      err: errorMessage(error),
    });
  let sender: import('./unix-datagram.js').UnixDatagramSender;
  try {
    // Loaded only under systemd: a native library that cannot load must not stop the daemon.
    const { UnixDatagramSender } = await import('./unix-datagram.js');
    sender = new UnixDatagramSender();
  } catch (error) {
    return (message) => fail(message, error);
  }
  return (message) => {
    try {
      sender.send(socketPath, Buffer.from(message));
    } catch (error) {
      fail(message, error);
    }
  };
}
