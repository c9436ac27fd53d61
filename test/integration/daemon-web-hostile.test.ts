// The web server against careless and hostile clients: other methods, path tricks, foreign Host
// names, huge and slow headers, connection floods, too many viewers and a viewer that never
// reads. The daemon must answer each in bounded time and memory and keep segmenting.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { type DaemonProcess, testConfig, useDaemonSuite, writeConfig } from '../helpers/daemon.js';
import { MjpegReader, metricValue, rawRequest } from '../helpers/http.js';
import type { Recorder } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

const BASE = 'edgeseg/cam-hostile';
const MAX_CONNECTIONS = 8;
let recorder: Recorder;
let daemon: DaemonProcess;
let port: number;
let web: string;

const get = (path: string, headers = 'Host: 127.0.0.1\r\n') =>
  `GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`;
const statusLine = (response: string) => response.split('\r\n', 1)[0];

useDaemonSuite({
  setUp: async (suite) => {
    const { dir, broker } = suite;
    port = await freePort();
    web = `http://127.0.0.1:${port}`;
    const configPath = await writeConfig(
      join(dir, 'config.yaml'),
      testConfig(dir, broker.url, {
        device_id: 'cam-hostile',
        model: join(repoRoot, 'models/synthetic-road-fcn8s'),
        fps: 10,
        // Large, barely compressed frames fill a non-reading viewer's socket buffers quickly.
        capture: { width: 640, height: 360 },
        mqtt: { url: broker.url },
        http: {
          enabled: true,
          port,
          max_connections: MAX_CONNECTIONS,
          stream: { max_fps: 10, max_viewers: 2, jpeg_quality: 100 },
        },
      }),
    );
    recorder = await suite.recorder([`${BASE}/#`]);
    daemon = await suite.startDaemonOnline(configPath, recorder, BASE);
  },
});

/** The daemon still answers HTTP and still publishes stats over MQTT. */
async function assertStillServing(): Promise<void> {
  const response = await fetch(`${web}/api/status`);
  assert.equal(response.status, 200);
  await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 20_000);
  assert.equal(daemon.child.exitCode, null, daemon.stderr());
}

test('every method but GET and HEAD gets 405 and changes nothing', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
    const body = '{"fps":1}';
    const { response } = await rawRequest(
      port,
      `${method} /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      5000,
    );
    assert.equal(statusLine(response), 'HTTP/1.1 405 Method Not Allowed', `${method}: ${response}`);
    assert.match(response, /\r\nAllow: GET, HEAD\r\n/);
  }
  const connectAttempt = await rawRequest(
    port,
    'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n',
    5000,
  );
  assert.ok(connectAttempt.closedByServer);
  assert.doesNotMatch(connectAttempt.response, /^HTTP\/1\.1 200/);
  const config = (await (await fetch(`${web}/api/config`)).json()) as { fps: number };
  assert.equal(config.fps, 10);
  const head = await fetch(`${web}/api/status`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('nothing outside the fixed routes is served, however the path is written', async () => {
  for (const path of [
    '/../../../../etc/passwd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/..%2f..%2f..%2fetc%2fpasswd',
    '//etc/passwd',
    '/api/../../package.json',
    '/api/status/../../../../etc/passwd',
    '/package.json',
    '/src/web/page.ts',
    '/api/status%00.json',
    '/API/STATUS',
    'http://127.0.0.1/etc/passwd',
    '*',
  ]) {
    const { response } = await rawRequest(port, get(path), 5000);
    assert.match(statusLine(response) ?? '', /^HTTP\/1\.1 (404|400) /, `${path}: ${statusLine(response)}`);
    assert.doesNotMatch(response, /root:|"devDependencies"|import /, path);
  }
});

test('Host names other than loopback ones are refused (DNS rebinding)', async () => {
  const { response } = await rawRequest(port, get('/api/config', 'Host: attacker.example:8080\r\n'), 5000);
  assert.equal(statusLine(response), 'HTTP/1.1 403 Forbidden');
  assert.doesNotMatch(response, /"device_id"/);
  const ok = await rawRequest(port, get('/api/status', 'Host: localhost:1234\r\n'), 5000);
  assert.equal(statusLine(ok.response), 'HTTP/1.1 200 OK');
});

test('huge headers get 431 and the connection closed', async () => {
  const { response, closedByServer } = await rawRequest(
    port,
    get('/', `Host: 127.0.0.1\r\nX-Fill: ${'a'.repeat(64 * 1024)}\r\n`),
    5000,
  );
  assert.equal(statusLine(response), 'HTTP/1.1 431 Request Header Fields Too Large');
  assert.ok(closedByServer);
});

test('a client that sends its headers a byte at a time is cut off within the header timeout', {
  timeout: 30_000,
}, async () => {
  const drip = ['GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n', ...'X-Slow: abcdefghijklmnopqrstuvwxyz'.split('')];
  const { closedByServer, elapsedMs } = await rawRequest(port, drip, 20_000, 500);
  assert.ok(closedByServer, 'the server kept a slow client');
  // headersTimeout 5 s, checked every second.
  assert.ok(elapsedMs < 8000, `closed after ${elapsedMs} ms`);
});

test('a flood of connections beyond max_connections is refused and the daemon keeps serving', {
  timeout: 60_000,
}, async () => {
  const sockets: Socket[] = [];
  let refused = 0;
  try {
    for (let i = 0; i < 200; i++) {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        refused++;
      });
    }
    // Accepted ones would only be closed by the 5 s header timeout: count well before that.
    const deadline = Date.now() + 3000;
    while (refused < 200 - MAX_CONNECTIONS && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(refused >= 200 - MAX_CONNECTIONS, `only ${refused} of 200 connections refused`);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  await assertStillServing();
});

test('the viewer cap: a third viewer gets 503 with Retry-After', async () => {
  const viewers = await Promise.all([
    MjpegReader.open(`${web}/stream.mjpeg`),
    MjpegReader.open(`${web}/stream.mjpeg`),
  ]);
  try {
    const third = await fetch(`${web}/stream.mjpeg`);
    assert.equal(third.status, 503);
    assert.equal(third.headers.get('retry-after'), '10');
    await third.text();
  } finally {
    for (const viewer of viewers) viewer.close();
  }
});

test('a viewer that never reads skips frames (bounded buffering) while another keeps the full rate', {
  timeout: 90_000,
}, async () => {
  const stalled = connect(port, '127.0.0.1');
  stalled.on('error', () => {});
  stalled.write(get('/stream.mjpeg'));
  stalled.pause();
  const reader = await MjpegReader.open(`${web}/stream.mjpeg`);
  try {
    const deadline = Date.now() + 60_000;
    while ((await metricValue(web, 'edgeseg_stream_frames_skipped_total')) === 0) {
      assert.ok(
        Date.now() < deadline,
        'the stalled viewer never skipped a frame: its frames are being buffered',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // /metrics is rendered at most once a second (a flood costs one render): let the polled one
    // expire, so that both samples below are fresh and line up with the frames counted here.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const encoded = await metricValue(web, 'edgeseg_stream_frames_encoded_total');
    const received = reader.frames.length;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const encodedSince = (await metricValue(web, 'edgeseg_stream_frames_encoded_total')) - encoded;
    const receivedSince = reader.frames.length - received;
    assert.ok(encodedSince >= 3, `only ${encodedSince} frames encoded in 3 s`);
    // The reading viewer gets every frame encoded while the other one skips.
    assert.ok(receivedSince >= encodedSince - 1, `${receivedSince} of ${encodedSince} frames received`);
    const largestFrame = Math.max(...reader.frames.map((frame) => frame.length));
    const buffered = await metricValue(web, 'edgeseg_stream_buffered_bytes');
    assert.ok(
      buffered <= 2 * largestFrame + 4096,
      `${buffered} bytes buffered (frames up to ${largestFrame})`,
    );
  } finally {
    reader.close();
    stalled.destroy();
  }
  await assertStillServing();
});
