// The daemon's RTP video output against real encoders and a real receiver: frames sent with ffmpeg
// and with GStreamer are decoded by ffmpeg on loopback; a crashed encoder is restarted with backoff;
// a stalled one never holds the caller (one-frame slot, latest wins) and is replaced.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { RtpStream } from '../../src/output/rtp-stream.js';
import { silentLogger } from '../../src/system/log.js';
import { freeUdpPort } from '../helpers/net.js';
import { RtpReceiver } from '../helpers/rtp.js';
import { makeTempDir } from '../helpers/tmp.js';

const WIDTH = 160;
const HEIGHT = 96;
const dir = await makeTempDir('edgeseg-rtp-');
const hasGstX264 = spawnSync('gst-inspect-1.0', ['x264enc'], { stdio: 'ignore' }).status === 0;

function stream(
  port: number,
  backend: 'ffmpeg' | 'gstreamer',
  overrides: { stallTimeoutMs?: number; width?: number; height?: number } = {},
) {
  return new RtpStream({
    target: { host: '127.0.0.1', port },
    label: `rtp://127.0.0.1:${port}`,
    backend,
    width: overrides.width ?? WIDTH,
    height: overrides.height ?? HEIGHT,
    fps: 10,
    bitrateKbps: 500,
    backoff: { initialMs: 200, maxMs: 2000 },
    stallTimeoutMs: overrides.stallTimeoutMs ?? 5000,
    logger: silentLogger,
  });
}

/** Offers a frame to the stream every 50 ms (it takes at most 10 per second): a grey that changes. */
function feed(rtp: RtpStream): () => void {
  let n = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    if (!rtp.due(now)) return;
    rtp.slot.fill(60 + ((n++ * 5) % 120));
    rtp.commit(now);
  }, 50);
  return () => clearInterval(timer);
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The third case: an odd capture size, which ffmpeg pads by one black pixel to even sides (yuv420p).
const cases = [
  { backend: 'ffmpeg', sent: { width: WIDTH, height: HEIGHT }, received: { width: WIDTH, height: HEIGHT } },
  {
    backend: 'gstreamer',
    sent: { width: WIDTH, height: HEIGHT },
    received: { width: WIDTH, height: HEIGHT },
  },
  { backend: 'ffmpeg', sent: { width: 161, height: 97 }, received: { width: 162, height: 98 } },
] as const;

for (const { backend, sent, received } of cases) {
  test(`${backend}: ${sent.width}x${sent.height} overlay frames arrive as decodable H.264 over RTP, without restarts`, {
    skip: backend === 'gstreamer' && !hasGstX264 ? 'GStreamer x264enc is not installed' : false,
    timeout: 60_000,
  }, async () => {
    const port = await freeUdpPort();
    const receiver = await RtpReceiver.start(dir, port, received);
    const rtp = stream(port, backend, sent);
    rtp.start();
    const stop = feed(rtp);
    try {
      await receiver.waitForFrames(15);
      const frame = receiver.lastFrame();
      // A flat grey frame of our range (lossy, so within a few levels), not black or garbage.
      const mean = frame.reduce((sum, value) => sum + value, 0) / frame.length;
      assert.ok(mean > 50 && mean < 190, `mean level ${mean}`);
      assert.equal(rtp.stats().state, 'running');
      assert.equal(rtp.stats().restarts, 0);
    } finally {
      stop();
      await rtp.stop();
      await receiver.stop();
    }
  });
}

test('a crashed encoder is restarted with backoff and the stream carries on', {
  timeout: 60_000,
}, async () => {
  const port = await freeUdpPort();
  const receiver = await RtpReceiver.start(dir, port, { width: WIDTH, height: HEIGHT });
  const rtp = stream(port, 'ffmpeg');
  rtp.start();
  const stop = feed(rtp);
  try {
    await receiver.waitForFrames(5);
    const firstPid = rtp.pid!;
    process.kill(firstPid, 'SIGKILL');
    await waitFor(() => rtp.stats().restarts === 1, 'the restart');
    assert.match(rtp.stats().lastError ?? '', /ffmpeg was killed by SIGKILL/);
    await waitFor(() => rtp.pid !== undefined && rtp.pid !== firstPid, 'a new encoder');
    const before = receiver.frames;
    await receiver.waitForFrames(before + 10);
    assert.equal(rtp.stats().state, 'running');
  } finally {
    stop();
    await rtp.stop();
    await receiver.stop();
  }
  assert.equal(rtp.stats().state, 'stopped');
});

test('a stalled encoder never holds the caller: one frame waits (latest wins), then the encoder is replaced', {
  timeout: 60_000,
}, async () => {
  const port = await freeUdpPort();
  // Frames larger than a pipe's 64 KiB buffer, so a stopped reader really blocks the write.
  const rtp = stream(port, 'ffmpeg', { stallTimeoutMs: 1500, width: 320, height: 240 });
  rtp.start();
  await waitFor(() => rtp.pid !== undefined, 'the encoder');
  const stalledPid = rtp.pid!;
  // A stopped process takes nothing from its pipe: the first frame (bigger than the pipe buffer)
  // stays in flight, and every later one replaces the single waiting frame.
  process.kill(stalledPid, 'SIGSTOP');
  try {
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const now = performance.now() + i * 1000;
      const started = performance.now();
      rtp.slot.fill(i);
      rtp.commit(now);
      slowest = Math.max(slowest, performance.now() - started);
    }
    assert.ok(slowest < 20, `commit took ${slowest.toFixed(1)} ms`);
    assert.equal(rtp.stats().framesReplaced, 18);
    assert.equal(rtp.stats().framesSent, 0);
    await waitFor(() => rtp.stats().restarts === 1, 'the stall restart');
    assert.match(rtp.stats().lastError ?? '', /took no frame for 1500 ms/);
    await waitFor(() => rtp.pid !== undefined && rtp.pid !== stalledPid, 'a new encoder');
  } finally {
    try {
      process.kill(stalledPid, 'SIGCONT');
    } catch {}
    await rtp.stop();
  }
  // The stalled encoder was killed, not left behind: gone once Node has reaped it (until then a
  // killed child is a zombie that signal 0 still finds; under load reaping can lag the stop).
  const gone = () => {
    try {
      process.kill(stalledPid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };
  await waitFor(gone, 'the stalled encoder to be gone', 5_000);
});
