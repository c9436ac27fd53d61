// HTTP clients for the daemon's web server as browsers, players and hostile peers talk to it:
// JSON getters, a raw socket that sends exactly the bytes given, and an MJPEG reader.

import { type ClientRequest, get, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/** The value of a metric without labels (or the first series matching `labels`) in /metrics. */
export async function metricValue(baseUrl: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(labels ? `${name}{` : `${name} `) && l.includes(labels));
  if (!line) throw new Error(`${name}${labels ? `{${labels}}` : ''} not in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

export interface RawResult {
  /** Everything the server sent (latin1). */
  response: string;
  /** The server closed the connection (rather than our timeout ending it). */
  closedByServer: boolean;
  elapsedMs: number;
}

/** Sends `request` (all at once, or in `chunks` spaced by `chunkDelayMs`) and reads until the server closes or `timeoutMs`. */
export function rawRequest(
  port: number,
  request: string | Buffer | Array<string | Buffer>,
  timeoutMs: number,
  chunkDelayMs = 0,
  address = '127.0.0.1',
): Promise<RawResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, address);
    const received: Buffer[] = [];
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        response: Buffer.concat(received).toString('latin1'),
        closedByServer,
        elapsedMs: Date.now() - started,
      });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    const chunks = Array.isArray(request) ? request : [request];
    let index = 0;
    const sendNext = () => {
      if (done || index >= chunks.length || socket.destroyed) return;
      socket.write(chunks[index++]!);
      if (index < chunks.length) setTimeout(sendNext, chunkDelayMs);
    };
    socket.on('connect', sendNext);
  });
}

/** Reads JPEG parts from a multipart/x-mixed-replace response. */
export class MjpegReader {
  readonly frames: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(
    readonly response: IncomingMessage,
    private readonly request: ClientRequest,
  ) {
    response.on('data', (chunk: Buffer) => this.take(chunk));
  }

  static open(url: string): Promise<MjpegReader> {
    return new Promise((resolve, reject) => {
      const request = get(url, (response) => resolve(new MjpegReader(response, request)));
      request.on('error', reject);
    });
  }

  /** Resolves when `count` frames have arrived in total. */
  async waitForFrames(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count) {
      if (Date.now() > deadline)
        throw new Error(`only ${this.frames.length} of ${count} MJPEG frames in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  close(): void {
    this.request.destroy();
  }

  private take(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const headerEnd = this.pending.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const match = /Content-Length: (\d+)/i.exec(this.pending.subarray(0, headerEnd).toString('latin1'));
      if (!match)
        throw new Error(`MJPEG part without Content-Length: ${this.pending.subarray(0, headerEnd)}`);
      const start = headerEnd + 4;
      const end = start + Number(match[1]);
      if (this.pending.length < end + 2) return;
      this.frames.push(Buffer.from(this.pending.subarray(start, end)));
      this.pending = this.pending.subarray(end + 2);
      for (const wake of this.waiters.splice(0)) wake();
    }
  }
}

/**
 * Issue 27's attack: `connections` sockets each write `pipelined` GETs for `path` in one go, never
 * read, and are destroyed after `holdMs`.
 */
export function pipelinedAttack(
  port: number,
  path: string,
  options: { connections: number; pipelined: number; holdMs?: number },
): Promise<void> {
  const burst = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(options.pipelined));
  const sockets: Socket[] = [];
  for (let i = 0; i < options.connections; i++) {
    const socket = connect(port, '127.0.0.1', () => socket.write(burst));
    socket.on('error', () => {});
    socket.pause();
    sockets.push(socket);
  }
  return new Promise((resolve) =>
    setTimeout(() => {
      for (const socket of sockets) socket.destroy();
      resolve();
    }, options.holdMs ?? 1000),
  );
}
