// The daemon's video-out part on the real event bus, a real ffmpeg encoder and the bundled model's
// classes: its rate limit runs on the monotonic clock, so a wall clock set back (a board without RTC
// getting the time from NTP or GPS) does not stop the RTP output for as long as the step.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import type { DaemonContext } from '../../src/daemon/context.js';
import { EventBus } from '../../src/daemon/event-bus.js';
import { VideoOut } from '../../src/daemon/extensions/video-out.js';
import { readManifest } from '../../src/model/manifest.js';
import type { ProcessedFrame } from '../../src/pipeline/frame-loop.js';
import { BurstLogger } from '../../src/system/burst-log.js';
import { silentLogger } from '../../src/system/log.js';
import { repoRoot } from '../helpers/cli.js';
import { freeUdpPort } from '../helpers/net.js';
import { processedFrame } from '../helpers/processed-frame.js';

const WIDTH = 64;
const HEIGHT = 32;

function frameAt(seq: number): ProcessedFrame {
  return processedFrame(
    seq,
    { width: WIDTH, height: HEIGHT },
    new Uint8Array(WIDTH * HEIGHT).fill(1),
    new Float64Array(5),
  );
}

test('a wall clock set back by an hour does not stop the RTP output', { timeout: 60_000 }, async (t) => {
  const modelDir = join(repoRoot, 'models/synthetic-road-fcn8s');
  const port = await freeUdpPort();
  const config = validateConfig(
    {
      device_id: 'clock-test',
      source: 'test://synthetic-road',
      model: modelDir,
      mqtt: { url: 'mqtt://127.0.0.1:1883' },
      outputs: [{ uri: `rtp://127.0.0.1:${port}`, fps: 10 }],
    },
    'test',
  );
  const bus = new EventBus((_owner, _event, error) => {
    throw error;
  });
  // The parts of the daemon's context video-out uses; the rest is never touched.
  const context = {
    config,
    bus,
    logger: silentLogger,
    bursts: new BurstLogger(silentLogger),
    model: { manifest: await readManifest(modelDir) },
  } as unknown as DaemonContext;
  const videoOut = new VideoOut(context);
  const realDateNow = Date.now;
  t.after(async () => {
    Date.now = realDateNow;
    await videoOut.stop();
  });
  videoOut.start();

  /** Frames every 20 ms (the output takes at most 10 a second) for `ms`. */
  let seq = 0;
  const feedFor = async (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      bus.emit('frameProcessed', frameAt(seq++));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const sent = () => videoOut.stats()[0]?.framesSent ?? 0;
  // Until the encoder has started and taken frames.
  const deadline = performance.now() + 20_000;
  while (sent() < 3) {
    assert.ok(performance.now() < deadline, `the encoder took ${sent()} frames`);
    await feedFor(100);
  }
  // The board's clock is set back an hour (a real step needs CAP_SYS_TIME and would disturb the
  // machine: this is the one thing faked).
  Date.now = () => realDateNow() - 3_600_000;
  const before = sent();
  await feedFor(1000);
  const after = sent() - before;
  assert.ok(after >= 4, `${after} frames sent in the second after the step`);
  assert.equal(videoOut.stats()[0]?.restarts, 0);
});
