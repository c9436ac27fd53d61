// `edgeseg infer`, `eval` and `models` as a user runs them: real PNG/JPEG files written with sharp,
// a video made by ffmpeg, real onnxruntime sessions on hand-built ONNX models.

import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { SYNTHETIC_ROAD_CLASSES } from '../../src/data/synthetic-road.js';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { makeLavfiVideo } from '../helpers/video.js';

const root = await makeTempDir('edgeseg-engine-cli-');
const modelDir = join(root, 'stripes-model');
await writeFixtureModelDir(modelDir, { height: 32, width: 64, output: 'probabilities' });

/** Red | green | blue vertical stripes. */
async function writeStripes(path: string, width: number, height: number): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      data[(y * width + x) * 3 + Math.min(2, Math.floor((3 * x) / width))] = 255;
  await sharp(data, { raw: { width, height, channels: 3 } }).toFile(path);
}

test('infer on PNG and JPEG files writes an overlay, a class mask and class fractions per image', async () => {
  const inputDir = join(root, 'images');
  await mkdir(inputDir);
  await writeStripes(join(inputDir, 'wide.png'), 300, 100);
  await writeStripes(join(inputDir, 'small.jpg'), 90, 45);
  const out = join(root, 'infer-out');
  const result = await runCli([
    'infer',
    '--model',
    modelDir,
    '--input',
    inputDir,
    '--out',
    out,
    '--provider',
    'tensorrt,cuda,cpu',
    '--no-progress',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /2 frames .* on onnxruntime\/cpu \(fell back: tensorrt: .*; cuda: .*\)/);
  const files = (await readdir(out)).sort();
  assert.deepEqual(files, [
    'small.json',
    'small.mask.png',
    'small.overlay.jpg',
    'wide.json',
    'wide.mask.png',
    'wide.overlay.jpg',
  ]);
  const stats = JSON.parse(await readFile(join(out, 'wide.json'), 'utf8'));
  const fractions = stats.classFractions as Record<string, number>;
  assert.deepEqual(Object.keys(fractions), ['red', 'green', 'blue']);
  assert.ok(Math.abs(Object.values(fractions).reduce((a, b) => a + b, 0) - 1) < 1e-9);
  for (const name of ['red', 'green', 'blue'])
    assert.ok(Math.abs(fractions[name]! - 1 / 3) < 0.05, `${name}: ${fractions[name]}`);
  for (const stage of ['decodeMs', 'preprocessMs', 'inferenceMs', 'postprocessMs'])
    assert.equal(typeof stats.timings[stage], 'number');
  // The mask is at the image's own size and its colours are the class colours.
  const mask = await sharp(join(out, 'wide.mask.png'))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.equal(mask.info.width, 300);
  assert.equal(mask.info.height, 100);
  const pixel = (x: number) => Array.from(mask.data.subarray((50 * 300 + x) * 3, (50 * 300 + x) * 3 + 3));
  assert.deepEqual(
    [pixel(20), pixel(150), pixel(280)],
    [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ],
  );
  const overlay = await sharp(join(out, 'wide.overlay.jpg')).metadata();
  assert.equal(overlay.width, 300);
});

test('infer on a folder with a truncated JPEG writes every other result, names the file it skipped and exits 1', async () => {
  const inputDir = join(root, 'with-truncated');
  await mkdir(inputDir);
  await writeStripes(join(inputDir, 'a.png'), 120, 60);
  await writeStripes(join(inputDir, 'c.jpg'), 120, 60);
  // A camera that lost power mid-write: the first half of a real JPEG.
  const jpeg = await sharp(await readFile(join(inputDir, 'c.jpg')))
    .jpeg()
    .toBuffer();
  await writeFile(join(inputDir, 'b.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  const out = join(root, 'with-truncated-out');
  const result = await runCli([
    'infer',
    '--model',
    modelDir,
    '--input',
    inputDir,
    '--out',
    out,
    '--no-progress',
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /skipped .*b\.jpg: /);
  // The path once, not "skipped X: X: cannot decode".
  assert.doesNotMatch(result.stderr, /b\.jpg: .*b\.jpg/);
  assert.match(result.stderr, /1 input could not be read/);
  assert.match(result.stdout, /2 frames/);
  const files = (await readdir(out)).sort();
  assert.deepEqual(files, ['a.json', 'a.mask.png', 'a.overlay.jpg', 'c.json', 'c.mask.png', 'c.overlay.jpg']);
});

test("the original's --samples-dir/--output-dir form writes one blended PNG per input under its name", async () => {
  const inputDir = join(root, 'samples');
  await mkdir(inputDir);
  await writeStripes(join(inputDir, 'um_000000.png'), 120, 40);
  await writeStripes(join(inputDir, 'um_000001.png'), 120, 40);
  const out = join(root, 'runs');
  const result = await runCli([
    'infer',
    '--model',
    modelDir,
    '--samples-dir',
    inputDir,
    '--output-dir',
    out,
    '--no-progress',
    '--alpha',
    '0.3',
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readdir(out)).sort(), ['um_000000.png', 'um_000001.png']);
  assert.equal((await sharp(join(out, 'um_000000.png')).metadata()).format, 'png');
});

test('infer on a video made by ffmpeg segments every frame', async () => {
  const video = join(root, 'clip.mp4');
  makeLavfiVideo(video, 'testsrc=size=160x90:rate=10', 0.5);
  const out = join(root, 'video-out');
  const result = await runCli([
    'infer',
    '--model',
    modelDir,
    '--input',
    video,
    '--out',
    out,
    '--stats',
    '--no-progress',
  ]);
  assert.equal(result.code, 0, result.stderr);
  const stats = (await readdir(out)).filter((name) => name.endsWith('.json')).sort();
  assert.equal(stats.length, 5);
  assert.equal(stats[0], 'clip_000001.json');
  const first = JSON.parse(await readFile(join(out, stats[0]!), 'utf8'));
  assert.equal(first.width, 160);
  assert.equal(first.height, 90);
});

test('models install, list, verify (tampering detected) and manifest drafting', async () => {
  const store = join(root, 'store');
  const installed = await runCli(['models', 'install', modelDir, '--models-dir', store]);
  assert.equal(installed.code, 0, installed.stderr);
  const listed = await runCli(['models', 'list', '--json'], { env: { EDGESEG_MODELS_DIR: store } });
  const list = JSON.parse(listed.stdout);
  assert.equal(list.models[0].name, 'stripes-model');
  assert.deepEqual(list.models[0].classes, ['red', 'green', 'blue']);
  assert.equal(list.models[0].precision, 'fp32');
  assert.deepEqual(list.models[0].input, { height: 32, width: 64, layout: 'NCHW' });
  // Sizes print height first, as every --size flag takes them.
  const text = await runCli(['models', 'list', '--models-dir', store]);
  assert.match(text.stdout, /stripes-model: fp32, input 32x64 \(HxW\) NCHW/);
  assert.equal((await runCli(['models', 'verify', '--models-dir', store])).code, 0);
  await appendFile(join(store, 'stripes-model', 'model.onnx'), 'x');
  const verify = await runCli(['models', 'verify', '--models-dir', store]);
  assert.notEqual(verify.code, 0);
  assert.match(
    verify.stdout,
    /FAILED {2}stripes-model: .*model\.onnx: sha256 .* does not match files\.onnxSha256/,
  );

  const draftPath = join(root, 'draft.json');
  const drafted = await runCli(['models', 'manifest', join(modelDir, 'model.onnx'), '--out', draftPath]);
  assert.equal(drafted.code, 0, drafted.stderr);
  assert.match(drafted.stderr, /channelOrder/);
  const draft = JSON.parse(await readFile(draftPath, 'utf8'));
  assert.equal(draft.input.layout, 'NCHW');
  assert.deepEqual([draft.input.height, draft.input.width], [32, 64]);
  assert.equal(draft.classes.length, 3);
  assert.equal(draft.output.name, 'logits');
});

test('eval --json on synthetic-road held-out scenes reports mIoU, accuracy, per-class IoU and confusion', async () => {
  // A nearest-colour classifier over the six synthetic class colours: crude but a real model.
  const colours = SYNTHETIC_ROAD_CLASSES.map((cls) => cls.color.map((v) => v / 255));
  const dir = join(root, 'synthetic-model');
  await writeFixtureModelDir(
    dir,
    {
      height: 64,
      width: 192,
      scale: 1 / 255,
      weights: colours,
      bias: colours.map((c) => -(c[0]! ** 2 + c[1]! ** 2 + c[2]! ** 2) / 2),
    },
    { classes: SYNTHETIC_ROAD_CLASSES },
  );
  const result = await runCli([
    'eval',
    '--model',
    dir,
    '--data-source',
    'synthetic-road',
    '--size',
    '96x288',
    '--limit',
    '6',
    '--json',
  ]);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.samples, 6);
  assert.deepEqual(
    Object.keys(report.perClassIoU),
    SYNTHETIC_ROAD_CLASSES.map((cls) => cls.name),
  );
  assert.ok(report.mIoU > 0 && report.mIoU <= 1);
  assert.ok(report.pixelAccuracy > 0.2, `pixel accuracy ${report.pixelAccuracy}`);
  const counted = (report.confusion as number[][]).flat().reduce((a, b) => a + b, 0);
  assert.equal(counted, 6 * 96 * 288); // labels at --size, the mask upsampled from 64x192
  assert.equal(report.maxF, undefined);

  const mismatch = await runCli([
    'eval',
    '--model',
    modelDir,
    '--data-source',
    'synthetic-road',
    '--limit',
    '1',
  ]);
  assert.equal(mismatch.code, 1);
  assert.match(
    mismatch.stderr,
    /predicts 3 classes \[red, green, blue\] but data source synthetic-road labels 6 classes/,
  );
});

test('eval reports MaxF for two-class road data (a user data-source module)', async () => {
  const plugin = join(root, 'two-class-source.mjs');
  // Road (purple) below a diagonal, background (green) above, with a noisy band between.
  await writeFile(
    plugin,
    `export default function createDataSource() {
  const height = 32, width = 64, count = 4;
  const classes = [{ name: 'background', color: [0, 200, 0] }, { name: 'road', color: [128, 64, 128] }];
  async function* batches(batchSize) {
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start);
      const images = new Uint8Array(size * height * width * 3);
      const labels = new Uint8Array(size * height * width);
      for (let n = 0; n < size; n++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
        const p = (n * height + y) * width + x;
        const road = y * 2 > x + start + n;
        labels[p] = road ? 1 : 0;
        const colour = classes[road ? 1 : 0].color;
        images.set(colour, p * 3);
      }
      yield { size, height, width, images, labels, names: Array.from({ length: size }, (_, i) => 'scene' + (start + i)) };
    }
  }
  return { name: 'two-class', imageSize: { height, width }, classes, numClasses: 2, labelColors: classes.map((c) => c.color),
    numTraining: 0, numValidation: count, trainGenerator: batches, validGenerator: batches };
}
`,
  );
  const dir = join(root, 'road-model');
  await writeFixtureModelDir(
    dir,
    {
      height: 32,
      width: 64,
      scale: 1 / 255,
      weights: [
        [0, 1, 0],
        [0.5, 0.25, 0.5],
      ],
      bias: [0, 0],
    },
    {
      classes: [
        { id: 0, name: 'background', color: [0, 200, 0], ignore: false },
        { id: 1, name: 'road', color: [128, 64, 128], ignore: false },
      ],
    },
  );
  const result = await runCli(['eval', '--model', dir, '--data-source', plugin, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.samples, 4);
  assert.equal(report.maxF.positiveClass, 'road');
  assert.equal(report.maxF.maxF, 1);
  assert.equal(report.mIoU, 1);
  const table = await runCli(['eval', '--model', dir, '--data-source', plugin]);
  assert.match(table.stdout, /MaxF \(road\) 100\.00%/);
});
