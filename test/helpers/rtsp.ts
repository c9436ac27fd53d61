// A minimal RTSP camera for tests: a real ffmpeg publishes a test pattern to it (ANNOUNCE/RECORD,
// RTP over the RTSP connection), and clients that DESCRIBE/SETUP/PLAY with the right Basic
// credentials get those RTP packets relayed (interleaved over TCP, the only transport it offers).
// It records every request, so a test can see what a capture tool sent.

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';

export interface RtspRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export class RtspCamera {
  readonly requests: RtspRequest[] = [];
  private sdp = '';
  private readonly players = new Set<Socket>();
  private publisher: ChildProcess | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly credentials: { username: string; password: string },
  ) {}

  /** A camera on a free loopback port, fed by ffmpeg's testsrc (MJPEG over RTP) once `publish()` ran. */
  static async start(credentials: { username: string; password: string }): Promise<RtspCamera> {
    let camera: RtspCamera | undefined;
    const server = createServer((socket) => camera!.serve(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    camera = new RtspCamera(server, address.port, credentials);
    return camera;
  }

  url(path = '/live'): string {
    return `rtsp://127.0.0.1:${this.port}${path}`;
  }

  /** Starts the publishing ffmpeg and waits until it records. */
  async publish(size = '160x96'): Promise<void> {
    this.publisher = spawn(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=10`]
        .concat(['-c:v', 'mjpeg', '-huffman', 'default', '-pix_fmt', 'yuvj420p', '-q:v', '5', '-f', 'rtsp'])
        .concat(['-rtsp_transport', 'tcp', `rtsp://127.0.0.1:${this.port}/publish`]),
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 15_000;
    while (!this.requests.some((r) => r.method === 'RECORD')) {
      if (Date.now() > deadline) throw new Error('the publishing ffmpeg never started recording');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    const publisher = this.publisher;
    if (publisher && publisher.exitCode === null && publisher.signalCode === null) {
      const exited = new Promise((resolve) => publisher.once('exit', resolve));
      publisher.kill('SIGKILL');
      await exited;
    }
    for (const player of this.players) player.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private authorised(request: RtspRequest): boolean {
    const { username, password } = this.credentials;
    return (
      request.headers.authorization === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
    );
  }

  private serve(socket: Socket): void {
    let pending = Buffer.alloc(0);
    let publishing = false;
    socket.on('error', () => {});
    socket.on('close', () => this.players.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (pending[0] === 0x24) {
          // An interleaved RTP/RTCP packet: $, channel, 16-bit length. A player's (its RTCP
          // reports) are dropped, the publisher's go to every player.
          if (pending.length < 4) return;
          const length = 4 + pending.readUInt16BE(2);
          if (pending.length < length) return;
          const packet = pending.subarray(0, length);
          if (publishing) for (const player of this.players) player.write(packet);
          pending = pending.subarray(length);
          continue;
        }
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const [requestLine = '', ...lines] = head.split('\r\n');
        const headers: Record<string, string> = {};
        for (const line of lines) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const bodyLength = Number(headers['content-length'] ?? 0);
        if (pending.length < end + 4 + bodyLength) return;
        const body = pending.subarray(end + 4, end + 4 + bodyLength).toString('latin1');
        pending = pending.subarray(end + 4 + bodyLength);
        const [method = '', url = ''] = requestLine.split(' ');
        const request = { method, url, headers };
        this.requests.push(request);
        if (method === 'RECORD') publishing = true;
        this.answer(socket, request, body);
      }
    });
  }

  private answer(socket: Socket, request: RtspRequest, body: string) {
    const cseq = request.headers.cseq ?? '0';
    const reply = (status: string, headers: Record<string, string> = {}, content = '') => {
      const lines = [`RTSP/1.0 ${status}`, `CSeq: ${cseq}`, 'Session: 12345678'];
      for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
      if (content) lines.push(`Content-Length: ${Buffer.byteLength(content)}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n${content}`);
    };
    const publishing = request.url.includes('/publish');
    switch (request.method) {
      case 'OPTIONS':
        return reply('200 OK', { Public: 'DESCRIBE, ANNOUNCE, SETUP, PLAY, RECORD, TEARDOWN' });
      case 'ANNOUNCE':
        this.sdp = body;
        return reply('200 OK');
      case 'DESCRIBE':
        if (!this.authorised(request))
          return reply('401 Unauthorized', { 'WWW-Authenticate': 'Basic realm="camera"' });
        if (!this.sdp) return reply('404 Not Found');
        return reply(
          '200 OK',
          { 'Content-Type': 'application/sdp', 'Content-Base': `${request.url}/` },
          this.sdp,
        );
      case 'SETUP': {
        const transport = request.headers.transport ?? '';
        if (!transport.includes('RTP/AVP/TCP')) return reply('461 Unsupported Transport');
        if (!publishing && !this.authorised(request)) return reply('401 Unauthorized');
        return reply('200 OK', { Transport: transport });
      }
      case 'PLAY':
        if (!this.authorised(request)) return reply('401 Unauthorized');
        reply('200 OK');
        this.players.add(socket);
        return;
      case 'RECORD':
      case 'TEARDOWN':
        return reply('200 OK');
      default:
        return reply('405 Method Not Allowed');
    }
  }
}
