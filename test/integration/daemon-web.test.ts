// The daemon's web server as its users meet it: a real daemon subprocess with the bundled model
// and a real mosquitto; the page in Debian's headless chromium, the stream read as multipart and
// by ffmpeg, the JSON API checked against the MQTT payload schemas, /metrics by promtool.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { readManifest } from '../../src/model/manifest.js';
import {
  HealthPayloadSchema,
  InfoPayloadSchema,
  StatsPayloadSchema,
  StatusPayloadSchema,
} from '../../src/mqtt/payloads.js';
import { repoRoot } from '../helpers/cli.js';
import {
  type DaemonProcess,
  testConfig,
  useDaemonSuite,
  verticalBand,
  writeConfig,
} from '../helpers/daemon.js';
import { getJson, MjpegReader, metricValue } from '../helpers/http.js';
import { Recorder, retainedMessages } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

// The page's DOM as far as the browser-side checks read it (tests compile without the DOM library).
interface PageNode {
  textContent: string | null;
  naturalWidth?: number;
  getAttribute(name: string): string | null;
}
declare const document: {
  getElementById(id: string): PageNode | null;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): Iterable<PageNode> & { length: number };
};

const MODEL = join(repoRoot, 'models/synthetic-road-fcn8s');
const BASE = 'edgeseg/cam-web';
const MAX_FPS = 4;
let dir: string;
let daemon: DaemonProcess;
let web: string;

const suite = useDaemonSuite({
  setUp: async ({ dir: suiteDir, broker, startDaemonOnline }) => {
    dir = suiteDir;
    const port = await freePort();
    web = `http://127.0.0.1:${port}`;
    const configPath = await writeConfig(
      join(dir, 'config.yaml'),
      testConfig(dir, broker.url, {
        device_id: 'cam-web',
        model: MODEL,
        capture: { width: 320, height: 192 },
        mqtt: { url: broker.url, username: 'edgeseg', password: 'hunter2-secret' },
        http: { enabled: true, port, stream: { max_fps: MAX_FPS, max_viewers: 2 } },
        regions: [verticalBand('left_half', 0, 0.5)],
      }),
    );
    const recorder = await Recorder.connect(broker.url, [`${BASE}/status`]);
    daemon = await startDaemonOnline(configPath, recorder, BASE).finally(() => recorder.end());
  },
});

test('the JSON API serves the MQTT payloads (validated by their schemas), with no secret in /api/config', async () => {
  StatusPayloadSchema.parse((await getJson(`${web}/api/status`)).body);
  const health = HealthPayloadSchema.parse((await getJson(`${web}/api/health`)).body);
  assert.equal(health.mqtt.connected, true);
  assert.equal(health.source.state, 'ok');
  const info = InfoPayloadSchema.parse((await getJson(`${web}/api/info`)).body);
  const manifest = await readManifest(MODEL);
  assert.deepEqual(
    info.model.classes.map((c) => c.name),
    manifest.classes.map((c) => c.name),
  );
  assert.equal(info.capabilities.metrics, true);
  const stats = StatsPayloadSchema.parse((await getJson(`${web}/api/stats`)).body);
  assert.ok(stats.regions.left_half);
  const config = await fetch(`${web}/api/config`);
  const text = await config.text();
  assert.equal(config.status, 200);
  assert.doesNotMatch(text, /hunter2/);
  // The account name is half of the broker login: neither the page nor the retained topic shows it.
  assert.equal(JSON.parse(text).mqtt.username, undefined);
  const retained = (await retainedMessages(suite.broker.url, `${BASE}/config`)).get(`${BASE}/config`);
  assert.ok(retained, 'the retained config topic');
  assert.equal(JSON.parse(retained.toString()).mqtt.username, undefined);
  assert.doesNotMatch(retained.toString(), /hunter2/);
});

test('/metrics passes promtool check metrics and has the frame, stage, fraction and stream series', async () => {
  const text = await (await fetch(`${web}/metrics`)).text();
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
  for (const series of [
    /^edgeseg_frames_out_total [1-9]/m,
    /^edgeseg_frame_stage_seconds_count\{stage="inference"\} [1-9]/m,
    /^edgeseg_class_fraction\{class="road"\} 0\.\d+/m,
    /^edgeseg_region_class_fraction\{region="left_half",class="road"\} /m,
    /^edgeseg_mqtt_reconnects_total 0/m,
    /^edgeseg_source_restarts_total 0/m,
    /^process_resident_memory_bytes [1-9]/m,
    /^edgeseg_info\{version="[^"]+",model="synthetic-road-fcn8s@[0-9a-f]{12}"/m,
  ])
    assert.match(text, series);
});

test('fraction series follow the regions: a region removed by config/set leaves /metrics', async () => {
  const recorder = await Recorder.connect(suite.broker.url, [`${BASE}/response/#`]);
  try {
    const response = await recorder.request(
      BASE,
      'config/set',
      { config: { regions: [verticalBand('right_half', 0.5, 1)] } },
      'w-1',
    );
    assert.equal(response.status, 'ok', JSON.stringify(response));
    const deadline = Date.now() + 20_000;
    let text = '';
    while (!/region="right_half"/.test(text) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      text = await (await fetch(`${web}/metrics`)).text();
    }
    assert.match(text, /^edgeseg_region_class_fraction\{region="right_half",class="road"\} /m);
    assert.doesNotMatch(text, /region="left_half"/);
  } finally {
    recorder.end();
  }
});

test('the stream sends decodable JPEG frames at most max_fps, and encodes nothing while nobody watches', async () => {
  assert.equal(await metricValue(web, 'edgeseg_stream_frames_encoded_total'), 0, 'encoded before any viewer');
  const viewer = await MjpegReader.open(`${web}/stream.mjpeg`);
  assert.match(String(viewer.response.headers['content-type']), /^multipart\/x-mixed-replace; boundary=/);
  const watchStarted = Date.now();
  await viewer.waitForFrames(3, 20_000);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const watchedS = (Date.now() - watchStarted) / 1000;
  assert.ok(
    viewer.frames.length <= MAX_FPS * watchedS + 1,
    `${viewer.frames.length} frames in ${watchedS} s`,
  );
  for (const jpeg of viewer.frames.slice(0, 3)) {
    const { width, height, format } = await sharp(jpeg).metadata();
    assert.deepEqual([format, width, height], ['jpeg', 320, 192]);
  }
  assert.equal(await metricValue(web, 'edgeseg_stream_viewers'), 1);
  viewer.close();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const settled = await metricValue(web, 'edgeseg_stream_frames_encoded_total');
  assert.ok(settled >= 3);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal(
    await metricValue(web, 'edgeseg_stream_frames_encoded_total'),
    settled,
    'encoding after the last viewer left',
  );
  assert.equal(await metricValue(web, 'edgeseg_stream_viewers'), 0);
});

test('ffmpeg opens the stream as a player would', { timeout: 60_000 }, async () => {
  const out = join(dir, 'ffmpeg');
  await rm(out, { recursive: true, force: true });
  await mkdir(out);
  const result = spawnSync(
    'ffmpeg',
    [
      '-loglevel',
      'error',
      '-rw_timeout',
      '15000000',
      '-i',
      `${web}/stream.mjpeg`,
      '-frames:v',
      '2',
      join(out, 'f%d.jpg'),
    ],
    { encoding: 'utf8', timeout: 45_000 },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual((await readdir(out)).sort(), ['f1.jpg', 'f2.jpg']);
  assert.equal((await sharp(join(out, 'f1.jpg')).metadata()).width, 320);
});

test('the live page in headless chromium: overlay, regions, fractions, chart, state; nothing from elsewhere', {
  timeout: 90_000,
}, async () => {
  const profile = await mkdtemp(join(tmpdir(), 'edgeseg-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1200, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => {
      if (!request.url().startsWith(`${web}/`)) foreign.push(request.url());
    });
    await page.goto(`${web}/`);
    // The chart needs two completed 2 s buckets after the page's first poll.
    await page.waitForFunction(
      () => {
        const line = document.querySelector('#chart polyline.series-fps');
        return (
          (document.getElementById('stream')?.naturalWidth ?? 0) > 0 &&
          (line?.getAttribute('points') ?? '').split(' ').length >= 2 &&
          document.querySelectorAll('#fractions tr[data-class]').length > 0
        );
      },
      undefined,
      { timeout: 45_000, polling: 500 },
    );
    const shown = await page.evaluate(() => ({
      imageWidth: document.getElementById('stream')?.naturalWidth,
      classes: [...document.querySelectorAll('#fractions tr[data-class]')].map((row) =>
        row.getAttribute('data-class'),
      ),
      regionLabels: [...document.querySelectorAll('.label')].map((label) => label.textContent),
      polygons: document.querySelectorAll('#regions polygon').length,
      source: document.getElementById('sourceState')?.textContent,
      mqtt: document.getElementById('mqttState')?.textContent,
      model: document.getElementById('model')?.textContent,
    }));
    const screenshot = join(process.env.EDGESEG_SCREENSHOT_DIR ?? dir, 'live-page.png');
    await page.screenshot({ path: screenshot });
    const classes = (await readManifest(MODEL)).classes.map((c) => c.name);
    assert.equal(shown.imageWidth, 320);
    // Whole-frame rows, then the region's rows.
    assert.deepEqual(shown.classes, [...classes, ...classes]);
    assert.deepEqual(shown.regionLabels, ['right_half']);
    assert.equal(shown.polygons, 1);
    assert.equal(shown.source, 'source running');
    assert.equal(shown.mqtt, 'MQTT connected');
    assert.match(shown.model ?? '', /^synthetic-road-fcn8s@[0-9a-f]{12} · onnxruntime\/cpu$/);
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, []);
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
});

test('SIGTERM with a stream viewer attached exits 0 promptly', async () => {
  const viewer = await MjpegReader.open(`${web}/stream.mjpeg`);
  await viewer.waitForFrames(1, 20_000);
  const started = Date.now();
  daemon.child.kill('SIGTERM');
  assert.equal(await daemon.exited, 0, daemon.stderr());
  assert.ok(Date.now() - started < 10_000, `exit took ${Date.now() - started} ms`);
  viewer.close();
});
