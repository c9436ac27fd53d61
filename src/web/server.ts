// The daemon's small read-only HTTP server: a fixed table of routes (nothing is looked up on disk,
// so no path can reach a file), GET and HEAD only, bounded in connections, header size and the
// time a client may take to send its request. Bound to loopback, it also refuses Host names other
// than loopback ones, so a web page elsewhere cannot read it through DNS rebinding.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ConfigError } from '../system/errors.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface WebServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  routes: ReadonlyMap<string, RouteHandler>;
  onError(error: Error): void;
}

/** Limits a client cannot negotiate. */
export const HTTP_LIMITS = {
  maxHeaderBytes: 8192,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
} as const;

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export class WebServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly options: WebServerOptions) {}

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer(
      {
        maxHeaderSize: HTTP_LIMITS.maxHeaderBytes,
        headersTimeout: HTTP_LIMITS.headersTimeoutMs,
        requestTimeout: HTTP_LIMITS.requestTimeoutMs,
        keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
        connectionsCheckingInterval: 1000,
      },
      (req, res) => this.handle(req, res),
    );
    server.maxConnections = this.options.maxConnections;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const why =
          error.code === 'EADDRINUSE'
            ? `port ${port} on ${host} is already in use`
            : `cannot listen on ${host}:${port} (${error.message})`;
        reject(new ConfigError('http', why, { hint: 'choose another http.port or http.host' }));
      });
      server.listen(port, host, () => resolve());
    });
    server.on('error', (error) => this.options.onError(error));
  }

  /** Closes the listener and every open connection (streams included). Idempotent. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // The body of a refused request is never read: close instead of draining it.
      res.setHeader('Allow', 'GET, HEAD');
      res.setHeader('Connection', 'close');
      sendText(res, 405, 'read-only: GET and HEAD only\n');
      return;
    }
    if (this.isLoopbackOnly() && !LOOPBACK_HOSTS.has(hostName(req.headers.host))) {
      sendText(res, 403, 'this server answers to 127.0.0.1 and localhost only (http.host)\n');
      return;
    }
    // The path is compared as sent, undecoded: "/%2e%2e/" or "/api/../x" never name a route.
    const target = req.url ?? '';
    const path = target.split('?', 1)[0]!;
    const route = this.options.routes.get(path);
    if (!route) {
      sendText(res, 404, 'not found\n');
      return;
    }
    Promise.resolve()
      .then(() => route(req, res))
      .catch((error: unknown) => {
        this.options.onError(error instanceof Error ? error : new Error(String(error)));
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
  }

  private isLoopbackOnly(): boolean {
    return LOOPBACK_HOSTS.has(this.options.host) || this.options.host.startsWith('127.');
  }
}

/** The host name of a Host header, without the port ("[::1]:8080" → "[::1]"). */
function hostName(header: string | undefined): string {
  if (!header) return '';
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  return header.split(':', 1)[0]!.toLowerCase();
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, 'text/plain; charset=utf-8', text);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(body)}\n`);
}

export function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length });
  // HEAD gets the same headers and no body.
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}
