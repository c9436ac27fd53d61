// Frame sources with real subprocesses (ffmpeg), real image files and the synthetic camera.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { createFrameSource } from '../../src/capture/create.js';
import { captureCommand, isSubprocessSpec } from '../../src/capture/pipelines.js';
import type { SubprocessFrameSource } from '../../src/capture/subprocess.js';
import type { RgbFrame } from '../../src/capture/types.js';
import { FrameSource, type FrameSourceOptions } from '../../src/capture/types.js';
import { parseSourceUri } from '../../src/capture/uri.js';
import { silentLogger } from '../../src/system/log.js';
import { makeTempDir } from '../helpers/tmp.js';

const options = (overrides: Partial<FrameSourceOptions> = {}): FrameSourceOptions => ({
  width: 160,
  height: 96,
  fps: 30,
  loop: true,
  stallTimeoutMs: 3000,
  backoff: { initialMs: 100, maxMs: 1000 },
  backend: 'auto',
  logger: silentLogger,
  ...overrides,
});

function nextFrames(source: FrameSource, count: number, timeoutMs = 15_000): Promise<RgbFrame[]> {
  const frames: RgbFrame[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${frames.length}/${count} frames within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onFrame = (frame: RgbFrame) => {
      frames.push({ ...frame, data: frame.data.slice() });
      if (frames.length === count) {
        clearTimeout(timer);
        source.off('frame', onFrame);
        resolve(frames);
      }
    };
    source.on('frame', onFrame);
  });
}

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('capture commands: CSI through nvarguscamerasrc, V4L2/RTSP/file through ffmpeg, RGB of the requested size behind a per-frame header', () => {
  const size = { width: 640, height: 360 };
  const command = (uri: string, backend: 'ffmpeg' | 'gstreamer' = 'ffmpeg') => {
    const spec = parseSourceUri(uri);
    assert.ok(isSubprocessSpec(spec));
    return captureCommand(spec, backend, size, true);
  };
  const csi = command('csi://1', 'gstreamer');
  assert.equal(csi.command, 'gst-launch-1.0');
  assert.match(
    csi.args.join(' '),
    /nvarguscamerasrc sensor-id=1 .*video\/x-raw,format=RGB,width=640,height=360 ! multipartmux boundary="edgesegframe" ! fdsink fd=1/,
  );
  assert.equal(csi.framing, 'multipart');
  assert.deepEqual(command('v4l2:///dev/video2').args.slice(3, 8), [
    '-nostdin',
    '-f',
    'v4l2',
    '-i',
    '/dev/video2',
  ]);
  assert.ok(command('rtsp://cam.local/stream').args.includes('tcp'));
  const file = command('file:///videos/drive.mp4').args.join(' ');
  assert.match(
    file,
    /-protocol_whitelist file -re -stream_loop -1 -i file:\/videos\/drive\.mp4 .*scale=640:360 -pix_fmt rgb24 -f image2pipe -c:v ppm pipe:1/,
  );
  assert.equal(command('file:///videos/drive.mp4').framing, 'ppm');
  assert.throws(() => parseSourceUri('http://x'), /unsupported scheme "http"/);
});

test('an ffmpeg source delivers frames of the requested size; a killed subprocess is restarted and counted; stop leaves no child', async () => {
  const source = createFrameSource('videotest://', options()) as SubprocessFrameSource;
  const restarts: string[] = [];
  source.on('restart', (event) => restarts.push(event.reason));
  await source.start();
  const [frame] = await nextFrames(source, 3);
  assert.equal(frame!.data.length, 160 * 96 * 3);
  const firstPid = source.pid;
  assert.ok(alive(firstPid));
  process.kill(firstPid!, 'SIGKILL');
  await nextFrames(source, 3);
  assert.equal(source.stats().restarts, 1);
  assert.match(restarts[0]!, /ffmpeg exited \(SIGKILL\)/);
  assert.notEqual(source.pid, firstPid);
  const lastPid = source.pid;
  await source.stop();
  assert.equal(alive(lastPid), false);
});

test('a stalled source (no frame within the timeout) is restarted', async () => {
  const dir = await makeTempDir();
  const fifo = join(dir, 'never-written.fifo');
  execFileSync('mkfifo', [fifo]);
  const source = createFrameSource(`file://${fifo}`, options({ stallTimeoutMs: 800 }));
  const restart = new Promise<string>((resolve) => source.once('restart', (event) => resolve(event.reason)));
  await source.start();
  assert.match(await restart, /no frame for 800 ms \(stalled\)/);
  await source.stop();
});

/** A frame source fed by the test: frames arrive with the capture times the test chooses. */
class ScriptedSource extends FrameSource {
  protected begin(): void {}
  protected end(): void {}
  capture(captureTimeMs: number): void {
    this.deliver({ data: new Uint8Array(3), width: 1, height: 1, captureTimeMs });
  }
}

test('the fps limit: 2 s of a 30 fps camera limited to 5 fps deliver 10 frames 200 ms apart; jitter at the limit drops none', () => {
  const start = 1_700_000_000_000;
  const limited = new ScriptedSource('scripted://', options({ fps: 5 }));
  const delivered: number[] = [];
  limited.on('frame', (frame) => delivered.push(frame.captureTimeMs - start));
  for (let i = 0; i < 60; i++) limited.capture(start + (i * 1000) / 30);
  assert.deepEqual(
    delivered.map((t) => Math.round(t)),
    [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800],
  );
  assert.equal(limited.stats().framesCaptured, 60);
  assert.equal(limited.stats().framesDropped, 50);

  // A camera running at the limit, each frame up to 9 ms early or late, keeps every frame.
  const atLimit = new ScriptedSource('scripted://', options({ fps: 5 }));
  let count = 0;
  atLimit.on('frame', () => count++);
  for (let i = 0; i < 20; i++) atLimit.capture(start + i * 200 + (i % 2 === 0 ? 9 : -9));
  assert.equal(count, 20);
  assert.equal(atLimit.stats().framesDropped, 0);
});

test('the fps limit applies to a real ffmpeg source: delivered frames are at least 1/fps apart', async () => {
  const source = createFrameSource('videotest://', options({ fps: 5 }));
  await source.start();
  const frames = await nextFrames(source, 4);
  await source.stop();
  const gaps = frames.slice(1).map((frame, i) => frame.captureTimeMs - frames[i]!.captureTimeMs);
  // 0.9 of the interval: the limiter's slack for a camera running exactly at the limit.
  assert.ok(
    gaps.every((gap) => gap >= 180),
    `gaps ${gaps.join(', ')} ms at a 5 fps limit of a 30 fps source`,
  );
});

test('an image folder loops over real PNG/JPEG files and skips a corrupt one', async () => {
  const dir = await makeTempDir();
  const solid = (r: number) =>
    sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g: 10, b: 20 } } });
  await solid(200).png().toFile(join(dir, 'a.png'));
  await solid(100).jpeg().toFile(join(dir, 'b.jpg'));
  await writeFile(join(dir, 'c.png'), Buffer.from('not a png'));
  const source = createFrameSource(`dir://${dir}`, options({ width: 32, height: 24, fps: 50 }));
  const errors: string[] = [];
  source.on('error', (error) => errors.push(error.message));
  await source.start();
  const frames = await nextFrames(source, 4);
  await source.stop();
  assert.ok(frames.every((f) => f.width === 32 && f.height === 24 && f.data.length === 32 * 24 * 3));
  assert.deepEqual(new Set(frames.map((f) => f.data[0])), new Set([200, 100]));
  assert.match(errors[0] ?? '', /c\.png: cannot decode/);
  assert.ok(source.stats().badFrames >= 1);
});

test('test://synthetic-road renders scenes at the requested size', async () => {
  const source = createFrameSource('test://synthetic-road', options({ width: 128, height: 64 }));
  await source.start();
  const frames = await nextFrames(source, 2);
  await source.stop();
  assert.equal(frames[0]!.data.length, 128 * 64 * 3);
  assert.notDeepEqual(frames[0]!.data, frames[1]!.data);
});

test('a GStreamer source delivers whole frames; one whose RGB rows GStreamer pads (width 18) is refused and reported', async () => {
  const good = createFrameSource('videotest://', options({ backend: 'gstreamer' })) as SubprocessFrameSource;
  await good.start();
  try {
    const [frame] = await nextFrames(good, 2);
    assert.equal(frame!.data.length, 160 * 96 * 3);
    assert.equal(good.state.frameProblem, undefined);
  } finally {
    await good.stop();
  }
  const padded = createFrameSource(
    'videotest://',
    options({ backend: 'gstreamer', width: 18, height: 16 }),
  ) as SubprocessFrameSource;
  let frames = 0;
  padded.on('frame', () => frames++);
  await padded.start();
  try {
    const deadline = Date.now() + 10_000;
    while (padded.state.frameProblem === undefined && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(
      padded.state.frameProblem ?? 'none',
      /^gst-launch-1\.0 for videotest:\/\/ delivers 896-byte frames, expected 18×16 RGB \(864 bytes\): refused$/,
    );
    assert.equal(frames, 0);
    assert.ok(padded.stats().wrongSizeFrames > 0);
  } finally {
    await padded.stop();
  }
});
