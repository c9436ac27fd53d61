// Re-runs issue 27's attack set once against a real daemon, on loopback only, bounded in count and
// time: 32 connections × 3000 pipelined GETs on /metrics, /api/config and /api/health (frame rate
// against a window without attack just before, RSS growth, longest gap between frames), retained
// pause and config/set before start and across a broker restart (how many were executed), the
// secrets in /proc/PID/cmdline and environ of the capture child (an RTSP camera with a password,
// secrets from the environment as systemd's EnvironmentFile gives them), and SIGTERM under attack.
// Run: node --import tsx scripts/attack-issue27.ts [windowS=10]

import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import {
  isOnlineStatus,
  json,
  makeModelsDir,
  startDaemonProcess,
  testConfig,
  writeConfig,
} from '../test/helpers/daemon.js';
import { pipelinedAttack } from '../test/helpers/http.js';
import { Mosquitto, Recorder } from '../test/helpers/mosquitto.js';
import { freePort } from '../test/helpers/net.js';
import { RtspCamera } from '../test/helpers/rtsp.js';

const windowMs = Number(process.argv[2] ?? 10) * 1000;
const CONNECTIONS = 32;
const PIPELINED = 3000;
const BASE = 'edgeseg/cam-attack';
const SECRETS = {
  camera: 'CamSecret123',
  cameraUser: 'camuser',
  mqtt: 'MqttSecret-attack-1',
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dir = await mkdtemp(join(tmpdir(), 'edgeseg-attack-'));
const broker = await Mosquitto.start({ persistent: true });
const camera = await RtspCamera.start({ username: SECRETS.cameraUser, password: SECRETS.camera });
await camera.publish('192x64');
const cleanups: Array<() => unknown> = [
  () => camera.stop(),
  () => broker.stop(),
  () => rm(dir, { recursive: true, force: true }),
];

async function publishRetained(topic: string, payload: string): Promise<void> {
  const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
  await client.publishAsync(topic, payload, { qos: 1, retain: true });
  await client.endAsync();
}

try {
  await makeModelsDir(dir);
  // Retained requests waiting on the broker before the daemon ever starts.
  await publishRetained(`${BASE}/request/pause`, '{"transaction":"retained-pause"}');
  await publishRetained(
    `${BASE}/request/config/set`,
    JSON.stringify({ transaction: 'retained-set', config: { fps: 2 } }),
  );
  const recorder = await Recorder.connect(broker.url, [`${BASE}/#`]);
  cleanups.unshift(() => recorder.end());
  const port = await freePort();
  const config = await writeConfig(
    join(dir, 'config.yaml'),
    testConfig(dir, broker.url, {
      device_id: 'cam-attack',
      source: camera.url(),
      fps: 8,
      capture: { width: 192, height: 64, backend: 'ffmpeg' },
      http: { enabled: true, port, max_connections: 32 },
    }),
  );
  const daemon = startDaemonProcess(config, {
    env: {
      EDGESEG_SOURCE_USERNAME: SECRETS.cameraUser,
      EDGESEG_SOURCE_PASSWORD: SECRETS.camera,
      EDGESEG_MQTT_USERNAME: 'edgeseg',
      EDGESEG_MQTT_PASSWORD: SECRETS.mqtt,
    },
  });
  cleanups.unshift(() => daemon.kill());
  await recorder.waitFor(isOnlineStatus(BASE), 60_000);
  await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 60_000);
  const pid = daemon.child.pid!;
  const rssMb = () =>
    Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  const rssAtStart = rssMb();

  const frames = async (ms: number) => {
    const from = Date.now();
    await sleep(ms);
    const times = recorder.messages
      .filter((m) => m.topic === `${BASE}/stats` && m.receivedAt >= from)
      .map((m) => m.receivedAt);
    let longestGapMs = times.length ? times[0]! - from : ms;
    for (let i = 1; i < times.length; i++) longestGapMs = Math.max(longestGapMs, times[i]! - times[i - 1]!);
    return { count: times.length, longestGapMs };
  };
  const attack = (path: string, holdMs = 1000) =>
    pipelinedAttack(port, path, { connections: CONNECTIONS, pipelined: PIPELINED, holdMs });

  const rows: string[] = [];
  const ratios: number[] = [];
  for (const path of ['/metrics', '/api/config', '/api/health']) {
    const quiet = await frames(windowMs);
    const rssBefore = rssMb();
    const measured = frames(windowMs);
    await attack(path);
    const attacked = await measured;
    const ratio = attacked.count / Math.max(1, quiet.count);
    ratios.push(ratio);
    rows.push(
      `${path}: ${CONNECTIONS}×${PIPELINED} pipelined: frames ${attacked.count} vs ${quiet.count} without (ratio ${ratio.toFixed(2)}), longest gap ${attacked.longestGapMs} ms (without: ${quiet.longestGapMs} ms), RSS ${rssBefore.toFixed(0)} -> ${rssMb().toFixed(0)} MB`,
    );
  }
  const status = await fetch(`http://127.0.0.1:${port}/api/status`);
  rows.push(`after the attacks: /api/status ${status.status}`);

  // Retained requests: none answered at start; a broker restart replays them, none answered either.
  const responses = () => recorder.messages.filter((m) => m.topic.startsWith(`${BASE}/response/`)).length;
  const lastHealth = () =>
    json([...recorder.messages].reverse().find((m) => m.topic === `${BASE}/health`)!.payload);
  const executedAtStart = responses();
  const pausedAtStart = lastHealth().paused;
  const onlineBefore = recorder.messages.filter(isOnlineStatus(BASE)).length;
  await broker.kill('SIGTERM');
  await broker.resume();
  await recorder.waitFor(
    (m) => isOnlineStatus(BASE)(m) && recorder.messages.filter(isOnlineStatus(BASE)).length > onlineBefore,
    30_000,
    true,
  );
  await sleep(3000);
  const afterRestart = await frames(3000);
  rows.push(
    `retained pause + config/set: executed ${executedAtStart} at start (paused ${pausedAtStart}), ${responses() - executedAtStart} after a broker restart (paused ${lastHealth().paused}, ${afterRestart.count} frames in the 3 s after)`,
  );

  // The capture child: what its command line and environment show.
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === `${pid}`;
      } catch {
        return false;
      }
    });
  for (const child of children) {
    const cmdline = readFileSync(`/proc/${child}/cmdline`, 'latin1');
    const environ = readFileSync(`/proc/${child}/environ`, 'latin1');
    const found = Object.entries(SECRETS)
      .filter(([, value]) => cmdline.includes(value) || environ.includes(value))
      .map(([name]) => name);
    const edgesegVars = environ.split('\0').filter((entry) => entry.startsWith('EDGESEG_')).length;
    // tsx's esbuild service is a child only because this script runs the daemon from src/ (no
    // such child under dist/ and systemd); it inherits the environment unfiltered.
    const note = cmdline.includes('esbuild') ? ' (tsx compiler service: src/ runs only, not dist/)' : '';
    rows.push(
      `child ${child} (${cmdline.split('\0')[0]})${note}: secrets in cmdline/environ: ${found.length ? found.join(', ') : 'none'}; EDGESEG_* variables: ${edgesegVars}`,
    );
  }
  if (children.length === 0) rows.push('no child of the daemon found');

  // SIGTERM while 32 connections pipeline /metrics.
  const attacking = attack('/metrics', 2000);
  await sleep(300);
  const rssEnd = rssMb();
  const started = Date.now();
  daemon.child.kill('SIGTERM');
  const code = await daemon.exited;
  const stopMs = Date.now() - started;
  await attacking;
  rows.push(`SIGTERM under attack: exit code ${code} after ${stopMs} ms`);
  const sorted = [...ratios].sort((a, b) => a - b);
  rows.push(
    `RSS ${rssAtStart.toFixed(0)} MB after start -> ${rssEnd.toFixed(0)} MB before SIGTERM; frame-rate ratios ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${sorted[1]!.toFixed(2)}); requests sent ${3 * CONNECTIONS * PIPELINED + CONNECTIONS * PIPELINED}`,
  );
  console.log(rows.join('\n'));
} finally {
  for (const cleanup of cleanups) await cleanup();
}
