// The frame reader fed by the bytes of real capture children (ffmpeg's PPM, GStreamer's
// multipartmux): frames of the expected size come out whole however the pipe cuts them, frames of
// another size are refused with the size they announced, and bytes that are no frame are skipped
// up to the next header.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { type AnnouncedFrame, type FrameFraming, FrameReader } from '../../src/capture/framing.js';

/** `count` testsrc frames of width×height from a real ffmpeg: PPM as the capture command writes them, or raw. */
function ffmpegFrames(width: number, height: number, count: number, format: 'ppm' | 'raw'): Buffer {
  const output = format === 'ppm' ? ['-f', 'image2pipe', '-c:v', 'ppm'] : ['-f', 'rawvideo'];
  const run = spawnSync(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${width}x${height}:rate=30`,
    ].concat(['-frames:v', `${count}`, '-pix_fmt', 'rgb24', ...output, 'pipe:1']),
    { maxBuffer: 64 << 20 },
  );
  assert.equal(run.status, 0, run.stderr.toString());
  return run.stdout;
}
const ffmpegPpm = (width: number, height: number, count: number) => ffmpegFrames(width, height, count, 'ppm');
const ffmpegRaw = (width: number, height: number, count: number) => ffmpegFrames(width, height, count, 'raw');

/** `count` videotestsrc buffers of width×height RGB from a real gst-launch-1.0 through multipartmux. */
function gstMultipart(width: number, height: number, count: number): Buffer {
  const run = spawnSync(
    'gst-launch-1.0',
    [
      '-q',
      'videotestsrc',
      `num-buffers=${count}`,
      '!',
      `video/x-raw,format=RGB,width=${width},height=${height}`,
    ].concat(['!', 'multipartmux', 'boundary="edgesegframe"', '!', 'fdsink', 'fd=1']),
    { maxBuffer: 64 << 20 },
  );
  assert.equal(run.status, 0, run.stderr.toString());
  return run.stdout;
}

interface Outcome {
  frames: Buffer[];
  refused: AnnouncedFrame[];
  skipped: number[];
}

function read(
  framing: FrameFraming,
  width: number,
  height: number,
  bytes: Buffer,
  chunkSize: number,
): Outcome {
  const outcome: Outcome = { frames: [], refused: [], skipped: [] };
  const reader = new FrameReader(framing, width, height, {
    frame: (data) => outcome.frames.push(Buffer.from(data)),
    refused: (announced) => outcome.refused.push(announced),
    resynchronised: (skippedBytes) => outcome.skipped.push(skippedBytes),
  });
  for (let at = 0; at < bytes.length; at += chunkSize) reader.push(bytes.subarray(at, at + chunkSize));
  return outcome;
}

test('ffmpeg PPM: every frame comes out whole, with the pixels ffmpeg wrote, whatever the pipe chunk size', () => {
  const ppm = ffmpegPpm(64, 48, 5);
  const raw = ffmpegRaw(64, 48, 5);
  for (const chunkSize of [1, 7, 4096, 65_536, ppm.length]) {
    const outcome = read('ppm', 64, 48, ppm, chunkSize);
    assert.equal(outcome.frames.length, 5, `chunks of ${chunkSize}`);
    assert.deepEqual(outcome.refused, []);
    assert.deepEqual(outcome.skipped, []);
    for (let i = 0; i < 5; i++)
      assert.ok(
        outcome.frames[i]!.equals(raw.subarray(i * 64 * 48 * 3, (i + 1) * 64 * 48 * 3)),
        `frame ${i}`,
      );
  }
});

test('ffmpeg PPM: frames of another size are refused with the size they announced, the next good frame is delivered', () => {
  // 32×24 frames where 64×48 are expected, then good ones: the old raw reader glued four small
  // frames into one "64×48" frame.
  const stream = Buffer.concat([ffmpegPpm(32, 24, 8), ffmpegPpm(64, 48, 2)]);
  for (const chunkSize of [1, 1000, stream.length]) {
    const outcome = read('ppm', 64, 48, stream, chunkSize);
    assert.equal(outcome.refused.length, 8);
    assert.deepEqual(outcome.refused[0], { width: 32, height: 24, bytes: 32 * 24 * 3 });
    assert.equal(outcome.frames.length, 2);
    assert.deepEqual(outcome.skipped, []);
  }
  // The same byte count in another shape is no frame of ours either.
  assert.deepEqual(read('ppm', 64, 48, ffmpegPpm(48, 64, 1), 4096).refused, [
    { width: 48, height: 64, bytes: 9216 },
  ]);
});

test('ffmpeg PPM: bytes lost or added between frames are skipped up to the next header', () => {
  const frames = ffmpegPpm(64, 48, 4);
  const frameBytes = frames.length / 4;
  const headerBytes = frameBytes - 64 * 48 * 3;
  // Frame 2 cut short by 1000 bytes (a pipe that dropped them), then 777 bytes of noise.
  const noise = Buffer.alloc(777, 0x41);
  const stream = Buffer.concat([
    frames.subarray(0, frameBytes),
    frames.subarray(frameBytes, 2 * frameBytes - 1000),
    noise,
    frames.subarray(2 * frameBytes),
  ]);
  const outcome = read('ppm', 64, 48, stream, 333);
  // Frame 2 swallowed the header of frame 3 and part of it; frame 4 is found again.
  assert.ok(outcome.frames.length >= 2, `${outcome.frames.length} frames`);
  assert.ok(outcome.frames[0]!.equals(frames.subarray(headerBytes, frameBytes)));
  assert.ok(outcome.frames.at(-1)!.equals(frames.subarray(3 * frameBytes + headerBytes)));
  assert.equal(outcome.skipped.length, 1);
  assert.ok(outcome.skipped[0]! > 0);
  // Raw frames with no header at all: nothing is delivered, everything is counted as skipped.
  const reader = new FrameReader('ppm', 64, 48, {
    frame: () => assert.fail('a raw stream has no frame'),
    refused: () => assert.fail('a raw stream announces nothing'),
    resynchronised: () => assert.fail('a raw stream has no header to find'),
  });
  const raw = ffmpegRaw(64, 48, 3);
  reader.push(raw);
  assert.ok(reader.skippedBytes > raw.length - 96, `${reader.skippedBytes} of ${raw.length} bytes skipped`);
});

test('GStreamer multipartmux: parts of the expected length are frames; row padding (width 18: 56-byte rows) is refused', () => {
  const good = read('multipart', 64, 48, gstMultipart(64, 48, 3), 1000);
  assert.equal(good.frames.length, 3);
  assert.deepEqual(good.refused, []);
  assert.deepEqual(good.skipped, []);
  // GStreamer pads RGB rows to 4 bytes: 18×3 = 54 bytes of pixels in 56-byte rows.
  const padded = read('multipart', 18, 2, gstMultipart(18, 2, 3), 7);
  assert.equal(padded.frames.length, 0);
  assert.deepEqual(padded.refused, [{ bytes: 112 }, { bytes: 112 }, { bytes: 112 }]);
  const bytes = gstMultipart(64, 48, 3);
  const noisy = Buffer.concat([bytes.subarray(0, 500), bytes.subarray(bytes.length / 3)]);
  const outcome = read('multipart', 64, 48, noisy, 4096);
  assert.equal(outcome.frames.length, 2);
  assert.equal(outcome.skipped.length, 1);
});
