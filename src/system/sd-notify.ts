// systemd notifications (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...). Node cannot send on an
// AF_UNIX datagram socket by itself, so this uses the optional `unix-dgram` package when it is
// installed and otherwise the `systemd-notify` tool (the unit then needs NotifyAccess=all).
// Without NOTIFY_SOCKET (not started by systemd) every call is a no-op.

import { spawn } from 'node:child_process';

export interface SdNotifier {
  readonly enabled: boolean;
  /** Half of WatchdogSec when systemd expects keep-alives from us, else undefined. */
  readonly watchdogIntervalMs: number | undefined;
  ready(): void;
  watchdog(): void;
  stopping(): void;
  status(text: string): void;
}

type Sender = (message: string) => void;

export async function createSdNotifier(env: NodeJS.ProcessEnv = process.env): Promise<SdNotifier> {
  const socketPath = env.NOTIFY_SOCKET;
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
  const watchdogIntervalMs =
    socketPath && Number.isFinite(watchdogUsec) && watchdogUsec > 0 && watchdogPid === process.pid
      ? watchdogUsec / 2000
      : undefined;
  if (!socketPath) {
    return {
      enabled: false,
      watchdogIntervalMs: undefined,
      ready() {},
      watchdog() {},
      stopping() {},
      status() {},
    };
  }
  const send = (await datagramSender(socketPath)) ?? cliSender(socketPath);
  let readySent = false;
  return {
    enabled: true,
    watchdogIntervalMs,
    ready() {
      readySent = true;
      send('READY=1');
    },
    watchdog() {
      // Re-sending READY costs nothing and covers a lost first message from the CLI fallback.
      send(readySent ? 'WATCHDOG=1\nREADY=1' : 'WATCHDOG=1');
    },
    stopping() {
      send('STOPPING=1');
    },
    status(text: string) {
      send(`STATUS=${text.replace(/\n/g, ' ')}`);
    },
  };
}

async function datagramSender(socketPath: string): Promise<Sender | undefined> {
  try {
    const specifier = 'unix-dgram';
    const unix = (await import(specifier)) as {
      createSocket(type: 'unix_dgram'): {
        send(buf: Buffer, o: number, l: number, path: string): void;
        on(e: string, f: () => void): void;
      };
    };
    const socket = unix.createSocket('unix_dgram');
    socket.on('error', () => {});
    // Abstract socket names start with '@' in NOTIFY_SOCKET and with a NUL byte on the wire.
    const path = socketPath.startsWith('@') ? `\0${socketPath.slice(1)}` : socketPath;
    return (message) => {
      const bytes = Buffer.from(message);
      socket.send(bytes, 0, bytes.length, path);
    };
  } catch {
    return undefined;
  }
}

function cliSender(socketPath: string): Sender {
  return (message) => {
    const child = spawn('systemd-notify', [`--pid=${process.pid}`, ...message.split('\n')], {
      stdio: 'ignore',
      env: { ...process.env, NOTIFY_SOCKET: socketPath },
    });
    child.on('error', () => {});
    child.unref();
  };
}
