// The daemon (the demo: embedded broker, synthetic camera, bundled model) with a video output, the
// linear filter mode and an ignored class: the overlay arrives over RTP on loopback and decodes,
// stats leave the ignored class out, the full-size mask is published; a wrong class name stops it.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { type DaemonProcess, startDaemonProcess, writeConfig } from '../helpers/daemon.js';
import { Recorder } from '../helpers/mosquitto.js';
import { freePort, freeUdpPort } from '../helpers/net.js';
import { RtpReceiver } from '../helpers/rtp.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = await makeTempDir('edgeseg-daemon-video-');

/** `edgeseg run --demo` (embedded broker on `port`) with `config` merged over the demo's. */
async function startDemo(config: Record<string, unknown>, port: number): Promise<DaemonProcess> {
  const configPath = await writeConfig(join(dir, `extra-${port}.yaml`), {
    state_dir: join(dir, `state-${port}`),
    ...config,
  });
  return startDaemonProcess(configPath, { args: ['--demo', '--port', String(port)] });
}

test('the overlay streams over RTP; stats leave the ignored class out; the linear mask is full size', {
  timeout: 180_000,
}, async () => {
  const port = await freePort();
  const rtpPort = await freeUdpPort();
  let receiver: RtpReceiver | undefined;
  const daemon = await startDemo(
    {
      outputs: [{ uri: `rtp://127.0.0.1:${rtpPort}`, fps: 5 }],
      publish: {
        filter_mode: 'linear',
        ignore_classes: ['sky'],
        mask: { width: 640, height: 360 },
      },
    },
    port,
  );
  let recorder: Recorder | undefined;
  try {
    await daemon.waitForLog(/edgeseg demo running/, 90_000);
    recorder = await Recorder.connect(`mqtt://127.0.0.1:${port}`, ['edgeseg/demo/#']);
    const stats = JSON.parse(
      (await recorder.waitFor((m) => m.topic === 'edgeseg/demo/stats')).payload.toString(),
    ) as { classFractions: Record<string, number>; regions: Record<string, Record<string, number>> };
    assert.deepEqual(Object.keys(stats.classFractions), [
      'road',
      'sidewalk',
      'background',
      'vehicle',
      'person',
    ]);
    const sum = Object.values(stats.classFractions).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `fractions sum to ${sum}`);
    assert.equal(stats.regions.lane_ahead!.sky, undefined);

    const mask = await recorder.waitFor((m) => m.topic === 'edgeseg/demo/mask');
    const { data, info } = await sharp(mask.payload).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [640, 360]);
    assert.ok(data.length > 0);

    // A viewer joining a running stream (it decodes from the next keyframe, at most 2 s away).
    receiver = await RtpReceiver.start(dir, rtpPort, { width: 640, height: 360 });
    await receiver.waitForFrames(5, 60_000);
    // A picture, not a flat or black frame: the synthetic road scene with class colours over it.
    const frame = receiver.lastFrame();
    const mean = frame.reduce((a, b) => a + b, 0) / frame.length;
    let variance = 0;
    for (const value of frame) variance += (value - mean) ** 2;
    assert.ok(mean > 20 && Math.sqrt(variance / frame.length) > 10, `mean ${mean}`);
  } finally {
    recorder?.end();
    daemon.child.kill('SIGINT');
    const code = await Promise.race([
      daemon.exited,
      new Promise((r) => setTimeout(() => r('timeout'), 20_000)),
    ]);
    daemon.kill();
    await receiver?.stop();
    assert.equal(code, 0, daemon.stderr());
  }
  // The encoder went with the daemon.
  assert.doesNotMatch(daemon.stderr(), /video output restarting/);
});

test('a class name the model does not have stops the daemon at start, listing the valid ones', {
  timeout: 120_000,
}, async () => {
  const daemon = await startDemo({ publish: { ignore_classes: ['skyy'] } }, await freePort());
  try {
    await daemon.waitForLog(
      /publish\.ignore_classes: no class named "skyy" in this model; its classes are: sky, road, sidewalk, background, vehicle, person/,
      90_000,
    );
    // A fatal start error: the daemon exits by itself.
    assert.notEqual(await daemon.exited, 0);
  } finally {
    daemon.kill();
  }
});
