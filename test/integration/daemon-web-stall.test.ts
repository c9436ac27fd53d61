// The issue-27 attack on the web server, bounded for CI: connections that each write thousands of
// pipelined GETs in one go and leave after a second. The frame loop must keep its rate, the RSS
// must stay flat and SIGTERM must still stop the daemon promptly. Real daemon, real mosquitto.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  type DaemonProcess,
  startDaemonOnline,
  testConfig,
  useDaemonSuite,
  writeConfig,
} from '../helpers/daemon.js';
import { pipelinedAttack } from '../helpers/http.js';
import { Recorder } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

const BASE = 'edgeseg/cam-stall';
const CONNECTIONS = 8;
const PIPELINED = 1500;
const WINDOW_MS = 4000;
let recorder: Recorder;
let daemon: DaemonProcess;
let port: number;

useDaemonSuite({
  setUp: async (suite) => {
    port = await freePort();
    const config = await writeConfig(
      join(suite.dir, 'config.yaml'),
      testConfig(suite.dir, suite.broker.url, {
        device_id: 'cam-stall',
        fps: 8,
        http: { enabled: true, port, max_connections: 32 },
      }),
    );
    recorder = await Recorder.connect(suite.broker.url, [`${BASE}/stats`, `${BASE}/status`]);
    daemon = await startDaemonOnline(config, recorder, BASE);
    await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 30_000);
  },
});

after(() => {
  recorder?.end();
  daemon?.kill();
});

const rssMb = () =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${daemon.child.pid}/status`, 'utf8'))?.[1]) / 1024;

/** Frames (stats messages) in the next `ms`, and the longest gap between two of them. */
async function frameRate(ms: number): Promise<{ frames: number; longestGapMs: number }> {
  const from = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const times = recorder.messages
    .filter((m) => m.topic === `${BASE}/stats` && m.receivedAt >= from)
    .map((m) => m.receivedAt);
  let longestGapMs = times.length ? times[0]! - from : ms;
  for (let i = 1; i < times.length; i++) longestGapMs = Math.max(longestGapMs, times[i]! - times[i - 1]!);
  if (times.length) longestGapMs = Math.max(longestGapMs, Date.now() - times[times.length - 1]!);
  return { frames: times.length, longestGapMs };
}

/** Each connection writes PIPELINED requests for `path` at once, never reads, and leaves after 1 s. */
const pipelineAttack = (path: string) =>
  pipelinedAttack(port, path, { connections: CONNECTIONS, pipelined: PIPELINED });

for (const path of ['/metrics', '/api/health', '/api/config']) {
  test(`${CONNECTIONS} connections × ${PIPELINED} pipelined ${path}: the frame rate and RSS hold`, {
    timeout: 60_000,
  }, async () => {
    const baseline = await frameRate(WINDOW_MS);
    const rssBefore = rssMb();
    const measured = frameRate(WINDOW_MS);
    await pipelineAttack(path);
    const attacked = await measured;
    const rssGrowth = rssMb() - rssBefore;
    const figures = `baseline ${baseline.frames} frames, attacked ${attacked.frames} (longest gap ${attacked.longestGapMs} ms), RSS +${rssGrowth.toFixed(0)} MB`;
    console.log(`${path}: ${figures}`);
    assert.ok(attacked.frames >= 0.8 * baseline.frames, figures);
    // 8 fps: a frame every 125 ms; a stalled loop shows as seconds without one.
    assert.ok(attacked.longestGapMs < 1000, figures);
    assert.ok(rssGrowth < 60, figures);
    // Still serving afterwards.
    const response = await fetch(`http://127.0.0.1:${port}/api/status`);
    assert.equal(response.status, 200);
  });
}

/** GET /api/status with a deadline: true when it was answered 200. */
async function probe(timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/status`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

test('silent sockets, held or refilled every 200 ms by one client, cannot lock others out', {
  timeout: 60_000,
}, async () => {
  const silent = new Set<Socket>();
  const open = (count: number) => {
    for (let i = 0; i < count; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      socket.on('close', () => silent.delete(socket));
      silent.add(socket);
    }
  };
  try {
    // 200 connections that never send a byte (half-open from the server's point of view).
    open(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(await probe(2000), 'HTTP unreachable behind 200 silent sockets');
    // One client keeps max_connections sockets open, replacing the closed ones every 200 ms.
    const refill = setInterval(() => open(Math.max(0, 32 - silent.size)), 200);
    let answered = 0;
    const probes = 15;
    try {
      for (let i = 0; i < probes; i++) {
        if (await probe(2000)) answered++;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      clearInterval(refill);
    }
    console.log(`probes answered while one client refilled every slot: ${answered} of ${probes}`);
    assert.equal(answered, probes, `${answered} of ${probes} probes answered`);
  } finally {
    for (const socket of silent) socket.destroy();
  }
});

test('SIGTERM in the middle of an attack stops the daemon within its deadline', {
  timeout: 60_000,
}, async () => {
  const attack = pipelineAttack('/metrics');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = Date.now();
  daemon.child.kill('SIGTERM');
  const code = await daemon.exited;
  await attack;
  const ms = Date.now() - started;
  console.log(`SIGTERM under attack: exit ${code} after ${ms} ms`);
  assert.equal(code, 0, daemon.stderr().slice(-2000));
  assert.ok(ms < 10_000, `exited after ${ms} ms`);
});
