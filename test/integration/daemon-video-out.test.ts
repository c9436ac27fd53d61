// The daemon (the demo: embedded broker, synthetic camera, bundled model) with a video output, the
// linear filter mode and an ignored class: the overlay arrives over RTP on loopback and decodes,
// stats leave the ignored class out, the full-size mask is published; a wrong class name stops it.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { stringify } from 'yaml';
import { repoRoot } from '../helpers/cli.js';
import { Recorder } from '../helpers/mosquitto.js';
import { freePort, freeUdpPort } from '../helpers/net.js';
import { RtpReceiver } from '../helpers/rtp.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = await makeTempDir('edgeseg-daemon-video-');

interface Daemon {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

async function startDemo(config: Record<string, unknown>, port: number): Promise<Daemon> {
  const configPath = join(dir, `extra-${port}.yaml`);
  await writeFile(configPath, stringify({ state_dir: join(dir, `state-${port}`), ...config }));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'src/cli/index.ts'),
      'run',
      '--demo',
      '--port',
      String(port),
      '--config',
      configPath,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
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
    const deadline = Date.now() + 90_000;
    while (!daemon.stderr().includes('edgeseg demo running') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(daemon.stderr(), /edgeseg demo running/);
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
    daemon.child.kill('SIGKILL');
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
    const deadline = Date.now() + 90_000;
    while (!/skyy/.test(daemon.stderr()) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(
      daemon.stderr(),
      /publish\.ignore_classes: no class named "skyy" in this model; its classes are: sky, road, sidewalk, background, vehicle, person/,
    );
  } finally {
    daemon.child.kill('SIGKILL');
  }
});
