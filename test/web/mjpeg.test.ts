// The MJPEG stream against a real HTTP viewer and real JPEG encodes: its rate limit runs on the
// monotonic clock, so a wall clock set back (a board without RTC getting the time from NTP or GPS)
// does not stop the stream for as long as the step.

import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { ClassInfo } from '../../src/model/manifest.js';
import type { ProcessedFrame } from '../../src/pipeline/frame-loop.js';
import { MJPEG_BOUNDARY, MjpegStream } from '../../src/web/mjpeg.js';
import { processedFrame } from '../helpers/processed-frame.js';

const WIDTH = 64;
const HEIGHT = 32;
const classes: ClassInfo[] = [
  { id: 0, name: 'road', color: [128, 64, 128], ignore: false },
  { id: 1, name: 'sky', color: [70, 130, 180], ignore: false },
];

function frameAt(seq: number): ProcessedFrame {
  const classMask = new Uint8Array(WIDTH * HEIGHT);
  classMask.fill(1, 0, (WIDTH * HEIGHT) / 2);
  return processedFrame(seq, { width: WIDTH, height: HEIGHT }, classMask, new Float64Array([0.5, 0.5]));
}

test('a wall clock set back by an hour does not stop the stream', { timeout: 30_000 }, async (t) => {
  const stream = new MjpegStream(
    { maxFps: 20, maxViewers: 2, jpegQuality: 70, alpha: 0.5, stallTimeoutMs: 5000 },
    (error) => assert.fail(error),
  );
  const server = createServer((_req, res) => assert.ok(stream.attach(res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const realDateNow = Date.now;
  let viewer: IncomingMessage | undefined;
  t.after(async () => {
    Date.now = realDateNow;
    viewer?.destroy();
    stream.stop();
    await new Promise((resolve) => server.close(resolve));
  });
  // The response head goes out with the first frame: count frames from whenever it arrives.
  let received = 0;
  const boundary = `--${MJPEG_BOUNDARY}`;
  get(`http://127.0.0.1:${port}/`, (res) => {
    viewer = res;
    res.setEncoding('latin1');
    res.on('data', (chunk: string) => {
      received += chunk.split(boundary).length - 1;
    });
  }).on('error', () => {});
  while (stream.stats().viewers === 0) await new Promise((resolve) => setTimeout(resolve, 10));

  /** Offers a frame every 10 ms for `ms` (the stream takes at most 20 a second). */
  let seq = 0;
  const offerFor = async (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      stream.offer(frameAt(seq++), classes);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  };
  await offerFor(600);
  const before = received;
  assert.ok(before >= 4, `${before} frames before the step`);
  // The board's clock is set back an hour (a real step needs CAP_SYS_TIME and would disturb the
  // machine: this is the one thing faked).
  const stepMs = 3_600_000;
  Date.now = () => realDateNow() - stepMs;
  await offerFor(600);
  const after = received - before;
  assert.ok(after >= 4, `${after} frames in the 600 ms after the step (${before} before)`);
});
