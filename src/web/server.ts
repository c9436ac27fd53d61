// The daemon's small read-only HTTP server: a fixed table of routes (nothing is looked up on disk,
// so no path can reach a file), GET and HEAD only, bounded in connections (per client too; idle
// ones give their slot up), pipelined requests, header size and the time a client may take to
// send its request. Bound to loopback, it also refuses Host names other
// than loopback ones, so a web page elsewhere cannot read it through DNS rebinding.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { asError, ConfigError } from '../system/errors.js';
import { hostName, isLoopbackHost, TokenCheck } from './access.js';
import { ConnectionSlots, type SlotStats } from './connection-slots.js';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface WebServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  routes: ReadonlyMap<string, RouteHandler>;
  /** Required (Bearer or basic auth) when `host` is not a loopback address. */
  token?: string | undefined;
  onError(error: Error): void;
}

/** Limits a client cannot negotiate. */
export const HTTP_LIMITS = {
  maxHeaderBytes: 8192,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  /** A connection with no request in flight for this long is closed (one that never sends too). */
  idleTimeoutMs: 5000,
  /** Unanswered requests on one connection; a deeper pipeline closes the connection. */
  maxPipelined: 4,
} as const;

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export class WebServer {
  private server: Server | undefined;
  private readonly slots: ConnectionSlots;
  private readonly loopbackOnly: boolean;
  private readonly tokenCheck: TokenCheck | undefined;

  constructor(private readonly options: WebServerOptions) {
    this.loopbackOnly = isLoopbackHost(options.host);
    if (!this.loopbackOnly && !options.token)
      throw new ConfigError(
        'http.host',
        `${options.host} is reachable from other machines and no token is set`,
        {
          hint: 'set EDGESEG_HTTP_TOKEN (16+ characters) in /etc/edgeseg/edgeseg.env, or keep http.host on 127.0.0.1 behind a reverse proxy (docs/web-and-metrics.md)',
        },
      );
    this.tokenCheck = options.token ? new TokenCheck(options.token) : undefined;
    this.slots = new ConnectionSlots({
      maxConnections: options.maxConnections,
      // A browser opens up to six connections to one host; one client may never take them all.
      perClient: Math.min(options.maxConnections, Math.max(6, Math.ceil(options.maxConnections / 2))),
      idleTimeoutMs: HTTP_LIMITS.idleTimeoutMs,
      maxPipelined: HTTP_LIMITS.maxPipelined,
    });
  }

  stats(): SlotStats {
    return this.slots.stats();
  }

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
    server.on('connection', (socket: Socket) => this.slots.admit(socket));
    this.slots.start();
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
    this.slots.stop();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    // Nothing is computed for a client that has gone (a cut-off pipeline's last requests).
    if (socket.destroyed) return;
    res.once('close', () => this.slots.endRequest(socket));
    for (const [name, value] of Object.entries(COMMON_HEADERS)) res.setHeader(name, value);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      // The body of a refused request is never read: close instead of draining it.
      res.setHeader('Allow', 'GET, HEAD');
      res.setHeader('Connection', 'close');
      sendText(res, 405, 'read-only: GET and HEAD only\n');
      return;
    }
    if (this.loopbackOnly && !isLoopbackHost(hostName(req.headers.host))) {
      sendText(res, 403, 'this server answers to 127.0.0.1 and localhost only (http.host)\n');
      return;
    }
    if (this.tokenCheck && !this.tokenCheck.accepts(req)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="edgeseg", charset="UTF-8"');
      sendText(
        res,
        401,
        'a token is needed: Authorization: Bearer <token>, or basic auth with it as password\n',
      );
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
        this.options.onError(asError(error));
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
  }
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
