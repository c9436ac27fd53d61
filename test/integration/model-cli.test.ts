// The model commands as a user runs them: `model init` (random and --vgg16), `export`, `upscale`,
// and the errors a user can cause (bad size, wrong VGG16 file) printed without a stack trace.

import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { readManifest } from '../../src/model/manifest.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { writeVgg16Onnx } from '../model/vgg16-fixture.js';

test('model init --vgg16 then export: an RGB model with torchvision normalisation recorded, runnable in onnxruntime', async () => {
  const dir = await makeTempDir();
  const vgg = join(dir, 'vgg16.onnx');
  await writeVgg16Onnx(vgg, { widthMultiplier: 1 / 16, seed: 2 });
  const checkpoint = join(dir, 'ckpt');
  const init = await runCli([
    'model',
    'init',
    '--classes',
    '3',
    '--size',
    '64x96',
    '--width',
    '0.0625',
    '--head',
    'original',
    '--vgg16',
    vgg,
    '--out',
    checkpoint,
  ]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /original head.*width 0\.0625/);
  assert.match(init.stdout, /input 64x96 RGB 0-255.*torchvision/);
  assert.match(init.stdout, /encoder from .*vgg16\.onnx/);
  const checkpointJson = JSON.parse(await readFile(join(checkpoint, 'model.json'), 'utf8'));
  assert.match(checkpointJson.provenance.vgg16.layers.fc6, /^\/Gemm_\d+$/);
  assert.match(checkpointJson.provenance.vgg16.sha256, /^[0-9a-f]{64}$/);

  const modelDir = join(dir, 'model');
  const exported = await runCli(['export', checkpoint, '--out', modelDir, '--name', 'road-test']);
  assert.equal(exported.code, 0, exported.stderr);
  const manifest = await readManifest(modelDir);
  assert.equal(manifest.name, 'road-test');
  assert.equal(manifest.input.channelOrder, 'RGB');
  assert.equal(manifest.input.inModelNormalization?.source, 'torchvision');
  assert.equal(manifest.architecture?.head, 'original');
  assert.ok((await stat(join(modelDir, 'tfjs', 'model.json'))).isFile());
  const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
    graphOptimizationLevel: 'all',
  });
  const image = new ort.Tensor('float32', new Float32Array(3 * 64 * 96).fill(128), [1, 3, 64, 96]);
  assert.deepEqual((await session.run({ image })).logits!.dims, [1, 3, 64, 96]);
  await session.release();
});

test('model init refuses a size not divisible by 32 and a VGG16 file of another width, without a stack trace', async () => {
  const dir = await makeTempDir();
  const badSize = await runCli([
    'model',
    'init',
    '--classes',
    '2',
    '--size',
    '100x576',
    '--out',
    join(dir, 'x'),
  ]);
  assert.notEqual(badSize.code, 0);
  assert.match(badSize.stderr, /100x576.*divisible by 32/);
  assert.doesNotMatch(badSize.stderr, /\n\s+at /);

  const vgg = join(dir, 'vgg16.onnx');
  await writeVgg16Onnx(vgg, { widthMultiplier: 1 / 16, seed: 2 });
  const args = ['model', 'init', '--classes', '2', '--size', '64x96', '--width', '0.125', '--vgg16', vgg];
  const wrongWidth = await runCli([...args, '--out', join(dir, 'y')]);
  assert.notEqual(wrongWidth.code, 0);
  assert.match(wrongWidth.stderr, /vgg16\.onnx: layer conv1_1 .*4x3x3x3, expected 8x3x3x3/);
  assert.doesNotMatch(wrongWidth.stderr, /\n\s+at /);
});

test('edgeseg upscale writes the picture factor times larger', async () => {
  const dir = await makeTempDir();
  const input = join(dir, 'in.jpg');
  await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 200, g: 40, b: 90 } } })
    .jpeg()
    .toFile(input);
  const result = await runCli(['upscale', input, join(dir, 'out.png'), '--factor', '4']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /80x120 \(HxW, 3 channels\) from 20x30, factor 4, 8x8 bilinear kernel/);
  const { data, info } = await sharp(join(dir, 'out.png')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [120, 80]);
  const centre = (40 * 120 + 60) * 3;
  assert.ok(Math.abs(data[centre]! - 200) <= 2 && Math.abs(data[centre + 1]! - 40) <= 2, 'colour kept');
});
