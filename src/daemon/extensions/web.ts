// Web: the read-only HTTP server (http.enabled): the live page, the MJPEG overlay stream, the
// JSON API (the same payloads as the MQTT topics) and /metrics. The server, page and stream live
// in src/web/; this part feeds them frames and stats and wires the routes.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { stripSecrets } from '../../config/load.js';
import { infoPayload } from '../../mqtt/info.js';
import type { HealthPayload, StatsPayload } from '../../mqtt/payloads.js';
import { isLoopbackHost } from '../../web/access.js';
import { MjpegStream } from '../../web/mjpeg.js';
import { LIVE_PAGE } from '../../web/page.js';
import { RecentResult } from '../../web/recent-result.js';
import { type RouteHandler, send, sendJson, sendText, WebServer } from '../../web/server.js';
import { Timeline } from '../../web/timeline.js';
import type { DaemonContext } from '../context.js';
import { Extension } from '../extension.js';
import type { DaemonMetrics } from '../metrics.js';

export interface WebSources {
  /** The status payload (availability online), as JSON text. */
  status(): string;
  health(): Promise<HealthPayload>;
  /** The metrics registry, when /metrics is served. */
  metrics(): DaemonMetrics | undefined;
}

/** A stream viewer that takes no frame for this long is disconnected. */
const STREAM_STALL_TIMEOUT_MS = 30_000;
/**
 * /metrics and /api/health are computed at most this often, whoever asks (Prometheus scrapes
 * every 15 s or so): a flood of requests costs one render, not one per request.
 */
const RENDER_REUSE_MS = 1000;

export class Web extends Extension {
  readonly name = 'web';
  private server: WebServer | undefined;
  private stream: MjpegStream | undefined;

  constructor(
    context: DaemonContext,
    private readonly sources: WebSources,
  ) {
    super(context);
  }

  async start(): Promise<void> {
    const { config, bursts, model, logger } = this.context;
    const { http } = config;
    if (!http.enabled) return;
    const onError = (error: Error) => bursts.warn('web', 'web server problem', { err: error.message });
    const stream = new MjpegStream(
      {
        maxFps: http.stream.max_fps,
        maxViewers: http.stream.max_viewers,
        jpegQuality: http.stream.jpeg_quality,
        alpha: config.publish.overlay.alpha,
        stallTimeoutMs: STREAM_STALL_TIMEOUT_MS,
      },
      onError,
    );
    this.stream = stream;
    const metrics = this.sources.metrics();
    if (metrics) metrics.stream = () => stream.stats();
    const timeline = new Timeline();
    let latest: StatsPayload | undefined;
    this.listen('frameProcessed', (processed) => stream.offer(processed, model.manifest.classes));
    this.listen('frameStats', (stats) => {
      latest = stats;
      timeline.add(stats);
    });
    const health = new RecentResult(
      async () => `${JSON.stringify(await this.sources.health())}\n`,
      RENDER_REUSE_MS,
    );
    const routes = new Map<string, RouteHandler>([
      ['/', (_req, res) => this.page(res)],
      // Browsers ask for it on every page load; an empty answer keeps their console clean.
      ['/favicon.ico', (_req, res) => send(res, 204, 'image/x-icon', '')],
      [
        '/stream.mjpeg',
        (req, res) => {
          if (req.method === 'HEAD') return send(res, 200, 'multipart/x-mixed-replace', '');
          if (!stream.attach(res)) {
            res.setHeader('Retry-After', '10');
            sendText(res, 503, `${http.stream.max_viewers} viewers already (http.stream.max_viewers)\n`);
          }
        },
      ],
      ['/api/status', (_req, res) => send(res, 200, 'application/json', `${this.sources.status()}\n`)],
      ['/api/health', async (req, res) => sendIfOpen(req, res, 'application/json', await health.get())],
      ['/api/config', (_req, res) => sendJson(res, 200, stripSecrets(this.context.config))],
      ['/api/info', (_req, res) => sendJson(res, 200, this.info())],
      [
        '/api/stats',
        (_req, res) =>
          latest ? sendJson(res, 200, latest) : sendJson(res, 503, { error: 'no frame processed yet' }),
      ],
      ['/api/timeline', (_req, res) => sendJson(res, 200, timeline.payload())],
    ]);
    if (metrics) {
      const rendered = new RecentResult(() => metrics.render(), RENDER_REUSE_MS);
      routes.set('/metrics', async (req, res) =>
        sendIfOpen(req, res, metrics.contentType, await rendered.get()),
      );
    }
    const server = new WebServer({
      host: http.host,
      port: http.port,
      maxConnections: http.max_connections,
      token: http.token,
      routes,
      onError,
    });
    this.server = server;
    await server.start();
    logger.info({ url: `http://${http.host}:${http.port}/` }, 'web server listening');
    if (!isLoopbackHost(http.host))
      logger.warn(
        { host: http.host },
        'the web server is reachable from other machines: every request needs the token (EDGESEG_HTTP_TOKEN); it has no TLS, prefer a reverse proxy with TLS (docs/web-and-metrics.md)',
      );
  }

  override async stop(): Promise<void> {
    this.unregister();
    this.stream?.stop();
    this.stream = undefined;
    const metrics = this.sources.metrics();
    if (metrics) metrics.stream = undefined;
    await this.server?.stop();
    this.server = undefined;
  }

  private page(res: ServerResponse): void {
    res.setHeader('Content-Security-Policy', LIVE_PAGE.contentSecurityPolicy);
    send(res, 200, 'text/html; charset=utf-8', LIVE_PAGE.html);
  }

  private info() {
    const { config, model, topics, requests } = this.context;
    return infoPayload({
      config,
      manifest: model.manifest,
      engine: model.info,
      topics,
      requests: requests.names,
    });
  }
}

/** Sends a computed answer unless its client left while it was computed (nothing to queue then). */
function sendIfOpen(req: IncomingMessage, res: ServerResponse, contentType: string, body: string): void {
  if (req.socket.destroyed) return;
  send(res, 200, contentType, body);
}
