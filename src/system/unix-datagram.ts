// Sends datagrams on AF_UNIX SOCK_DGRAM sockets (systemd's notify socket accepts nothing else).
// Node cannot: node:dgram knows udp4/udp6 only, and node:net opens stream sockets, which a datagram
// socket refuses (EPROTOTYPE). koffi calls libc's socket() and sendto() from this process, so the
// kernel stamps our own PID on each datagram; it ships prebuilt binaries for Linux x64/arm64 (glibc
// and musl), so nothing is compiled at install time. See docs/deployment.md for the choice.

import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
/** Never block the event loop on a full receive queue, and no SIGPIPE. */
const SEND_FLAGS = 0x40 /* MSG_DONTWAIT */ | 0x4000; /* MSG_NOSIGNAL */
/** sizeof(sockaddr_un.sun_path) on Linux. */
const SUN_PATH_BYTES = 108;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(
    fd: number,
    buffer: Uint8Array,
    length: number,
    flags: number,
    address: Uint8Array,
    addressLength: number,
  ): number;
  close(fd: number): number;
  strerror(errno: number): string;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    sendto: lib.func(
      'intptr_t sendto(int fd, const void *buf, uintptr_t len, int flags, const void *addr, uint32_t addrlen)',
    ),
    close: lib.func('int close(int fd)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  };
  return libc;
}

/** An error from a libc call, with the errno's name as `code` (ENOENT, ECONNREFUSED, EAGAIN...). */
function errnoError(call: string, c: Libc): NodeJS.ErrnoException {
  const errno = koffi.errno();
  const code = Object.entries(koffi.os.errno).find(([, value]) => value === errno)?.[0];
  const error: NodeJS.ErrnoException = new Error(`${call}: ${c.strerror(errno)}`);
  error.errno = errno;
  if (code) error.code = code;
  return error;
}

/**
 * A `struct sockaddr_un` for `path`. A leading '@' names an abstract socket, as in NOTIFY_SOCKET:
 * on the wire a NUL byte instead of the '@', and no terminating NUL.
 */
export function unixSocketAddress(path: string): Uint8Array {
  const name = path.startsWith('@')
    ? Buffer.concat([Buffer.of(0), Buffer.from(path.slice(1))])
    : Buffer.from(`${path}\0`);
  if (name.length > SUN_PATH_BYTES || name.length < 2)
    throw new RangeError(
      `unix socket path must be 1 to ${SUN_PATH_BYTES - 1} bytes: ${JSON.stringify(path)}`,
    );
  const address = new Uint8Array(2 + name.length);
  // sun_family is a host-endian unsigned short.
  address.set(new Uint8Array(Uint16Array.of(AF_UNIX).buffer), 0);
  address.set(name, 2);
  return address;
}

/** One unbound datagram socket, opened on first use, that sends to any socket path. */
export class UnixDatagramSender {
  private fd = -1;

  /** Sends `payload` as one datagram; throws with the errno's name as `code` when it is refused. */
  send(path: string, payload: Uint8Array): void {
    const c = loadLibc();
    const address = unixSocketAddress(path);
    if (this.fd < 0) {
      const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) throw errnoError('socket(AF_UNIX, SOCK_DGRAM)', c);
      this.fd = fd;
    }
    const sent = c.sendto(this.fd, payload, payload.length, SEND_FLAGS, address, address.length);
    if (sent < 0) throw errnoError(`sendto ${path}`, c);
  }

  close(): void {
    if (this.fd < 0) return;
    loadLibc().close(this.fd);
    this.fd = -1;
  }
}
