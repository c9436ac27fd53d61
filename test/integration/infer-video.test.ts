// `edgeseg infer` writing a video (--out result.mp4), the filter modes and --ignore-class, as a user
// runs them: videos made and decoded by ffmpeg/ffprobe, real onnxruntime sessions on a fixture model.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { FAST_H264, makeLavfiVideo } from '../helpers/video.js';

const root = await makeTempDir('edgeseg-infer-video-');
const modelDir = join(root, 'stripes-model');
await writeFixtureModelDir(modelDir, { height: 32, width: 64, output: 'probabilities' });

/** A video of red | green | blue vertical stripes (the fixture model's three classes). */
function makeStripesVideo(path: string, size: string, rate: string, seconds: number, codec?: string[]): void {
  const colour = (name: string, label: string) => `color=c=${name}:size=${size}:rate=${rate}[${label}]`;
  makeLavfiVideo(
    path,
    `${colour('red', 'r')};${colour('lime', 'g')};${colour('blue', 'b')};[r][g][b]hstack=3,scale=${size}`,
    seconds,
    codec,
  );
}

/** `edgeseg infer` with the fixture model, no progress bar, and `args`. */
const infer = (...args: string[]) => runCli(['infer', '--model', modelDir, '--no-progress', ...args]);

function probe(path: string): { width: number; height: number; frames: number; rate: string } {
  const result = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height,nb_read_frames,r_frame_rate',
      '-of',
      'json',
      path,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  const stream = JSON.parse(result.stdout).streams[0];
  return {
    width: stream.width,
    height: stream.height,
    frames: Number(stream.nb_read_frames),
    rate: stream.r_frame_rate,
  };
}

/** Frame `index` of a video as RGB. */
function decodeFrame(path: string, index: number, width: number, height: number): Buffer {
  const result = spawnSync('ffmpeg', [
    '-v',
    'error',
    '-i',
    path,
    '-vf',
    `select=eq(n\\,${index})`,
    '-frames:v',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ]);
  assert.equal(result.status, 0, result.stderr?.toString());
  assert.equal(result.stdout.length, width * height * 3);
  return result.stdout;
}

const near = (actual: number[], expected: number[], tolerance: number) =>
  actual.every((value, i) => Math.abs(value - expected[i]!) <= tolerance);

const clip = join(root, 'clip.mp4');
makeStripesVideo(clip, '160x90', '25/2', 2);

test('--out result.mp4 writes one overlay video with every frame, the input size and its frame rate', async () => {
  const out = join(root, 'result.mp4');
  const result = await infer('--input', clip, '--out', out);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /wrote .*result\.mp4: 25 frames at 25\/2 frames\/s/);
  assert.deepEqual(probe(out), { width: 160, height: 90, frames: 25, rate: '25/2' });
  // No temporary file is left beside it.
  assert.deepEqual(
    (await readdir(root)).filter((name) => name.includes('partial')),
    [],
  );
});

test('--mask writes the class colours; an odd-sized input is padded by one pixel to even sides', async () => {
  const out = join(root, 'mask.mkv');
  const result = await infer('--input', clip, '--out', out, '--mask');
  assert.equal(result.code, 0, result.stderr);
  const frame = decodeFrame(out, 12, 160, 90);
  const pixel = (x: number) => Array.from(frame.subarray((45 * 160 + x) * 3, (45 * 160 + x) * 3 + 3));
  // The fixture's class colours (lossy yuv420p: within a few levels).
  assert.ok(near(pixel(20), [255, 0, 0], 12), `left ${pixel(20)}`);
  assert.ok(near(pixel(80), [0, 255, 0], 12), `middle ${pixel(80)}`);
  assert.ok(near(pixel(140), [0, 0, 255], 12), `right ${pixel(140)}`);

  const odd = join(root, 'odd.mkv');
  makeStripesVideo(odd, '161x91', '10', 0.5, ['-c:v', 'ffv1']);
  const oddOut = join(root, 'odd-out.mp4');
  const oddRun = await infer('--input', odd, '--out', oddOut);
  assert.equal(oddRun.code, 0, oddRun.stderr);
  assert.deepEqual(probe(oddOut), { width: 162, height: 92, frames: 5, rate: '10/1' });
});

test('the output name is one argument: ffmpeg reads no protocol or option in it', async () => {
  const dir = join(root, 'names');
  await mkdir(dir);
  const name = 'concat:x|y -f null -y.mp4';
  const result = await infer('--input', clip, '--out', join(dir, name));
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readdir(dir), [name]);
  assert.equal(probe(join(dir, name)).frames, 25);
});

test('a failing encoder is named, and nothing that looks complete is left', async () => {
  // The output folder is made before the job starts (and checked to be writable), as for images.
  const missing = join(root, 'no-such-folder', 'result.mp4');
  const result = await infer('--input', clip, '--out', missing);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(probe(missing).frames, 25);

  // Killed mid-run: the run fails naming it, and neither the video nor its temporary file remains.
  // A moving test pattern, so that the partial file grows quickly.
  const long = join(root, 'long.mp4');
  makeLavfiVideo(long, 'testsrc2=size=320x180:rate=25', 40, FAST_H264);
  const dir = join(root, 'killed');
  await mkdir(dir);
  const out = join(dir, 'result.mp4');
  const run = infer('--input', long, '--out', out);
  let encoder: number | undefined;
  for (let i = 0; i < 200 && encoder === undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const found = spawnSync('pgrep', ['-f', `file:${dir}/.result.mp4.partial-`], { encoding: 'utf8' });
    encoder = Number.parseInt(found.stdout.split('\n')[0] ?? '', 10) || undefined;
  }
  assert.ok(encoder, 'the encoder subprocess was not found');
  // Killed once it has written part of the video (under its temporary name).
  let partial = 0;
  for (let i = 0; i < 600 && partial < 10_000; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const names = await readdir(dir);
    partial = names.length === 1 ? (await stat(join(dir, names[0]!))).size : 0;
  }
  assert.ok(partial >= 10_000, 'the encoder wrote nothing');
  process.kill(encoder, 'SIGKILL');
  const killed = await run;
  assert.equal(killed.code, 1);
  assert.match(killed.stderr, /the video encoder failed: ffmpeg was killed by SIGKILL/);
  assert.deepEqual(await readdir(dir), []);
});

test('a video output needs a video input, and takes overlays or masks, not stats', async () => {
  const images = join(root, 'images');
  await mkdir(images);
  await sharp({ create: { width: 64, height: 32, channels: 3, background: 'red' } })
    .png()
    .toFile(join(images, 'a.png'));
  const fromImages = await infer('--input', images, '--out', join(root, 'x.mp4'));
  assert.equal(fromImages.code, 1);
  assert.match(fromImages.stderr, /a video output needs a video --input/);
  const withStats = await infer('--input', clip, '--out', join(root, 'y.mp4'), '--stats');
  assert.equal(withStats.code, 1);
  assert.match(
    withStats.stderr,
    /writes one video: of overlays \(--overlay, the default\) or of masks \(--mask\)/,
  );
});

test('--ignore-class leaves a class out of the fractions (the rest sum to 1); a wrong name lists the valid ones', async () => {
  const out = join(root, 'ignored');
  const result = await infer('--input', clip, '--out', out, '--stats', '--ignore-class', 'red');
  assert.equal(result.code, 0, result.stderr);
  const stats = JSON.parse(await readFile(join(out, 'clip_000001.json'), 'utf8'));
  assert.deepEqual(Object.keys(stats.classFractions), ['green', 'blue']);
  assert.ok(Math.abs(stats.classFractions.green - 0.5) < 0.05, JSON.stringify(stats.classFractions));
  assert.ok(Math.abs(stats.classFractions.green + stats.classFractions.blue - 1) < 1e-9);

  const wrong = await infer('--input', clip, '--out', out, '--ignore-class', 'Red');
  assert.equal(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /--ignore-class: no class named "Red" in this model; its classes are: red, green, blue/,
  );
});

test('--filter-mode linear writes a full-size mask whose edges follow the scores, not the model grid', async () => {
  // A diagonal edge: red above, blue below, at 4x the model's 64x32 grid.
  const width = 256;
  const height = 128;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data[(y * width + x) * 3 + (y > x * 0.3 + 20 ? 2 : 0)] = 255;
  const images = join(root, 'diagonal');
  await mkdir(images);
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(join(images, 'diagonal.png'));
  const masks: Record<string, Buffer> = {};
  for (const mode of ['point', 'linear']) {
    const out = join(root, `diagonal-${mode}`);
    const result = await infer('--input', images, '--out', out, '--mask', '--filter-mode', mode);
    assert.equal(result.code, 0, result.stderr);
    const { data: ids, info } = await sharp(join(out, 'diagonal.mask.png'))
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [width, height]);
    masks[mode] = ids;
  }
  // Misplaced pixels against the drawn edge (the red channel of the mask's palette is 255 for the
  // red class above it): the point mask's 4-pixel staircase misses more.
  const misplaced = (mask: Buffer) => {
    let wrong = 0;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) if (mask[y * width + x]! > 128 === y > x * 0.3 + 20) wrong++;
    return wrong;
  };
  const point = misplaced(masks.point!);
  const linear = misplaced(masks.linear!);
  assert.ok(linear < point * 0.75, `misplaced pixels: linear ${linear}, point ${point}`);
});
