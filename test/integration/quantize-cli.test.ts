// `edgeseg quantize` as a user runs it, on the bundled demo model: the int8 model directory it
// writes records precision, calibration set and accuracy; `edgeseg eval` reproduces the recorded
// accuracy; the engine and the Segmenter (the daemon's path) run it; `bench --compare` times it
// against the fp32 model; and bad input is refused naming the flag or the file.

import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { compareModels } from '../../src/bench/compare.js';
import { renderSyntheticScene } from '../../src/data/synthetic-road.js';
import { createEngine, DEFAULT_ENGINE_OPTIONS } from '../../src/engine/create.js';
import { int8KernelFamily } from '../../src/engine/int8-kernels.js';
import { type ModelManifest, readManifest } from '../../src/model/manifest.js';
import { checkOutDir } from '../../src/quantize/output.js';
import { type QuantizeOptions, quantizeModel } from '../../src/quantize/quantize.js';
import { Segmenter } from '../../src/segment/segmenter.js';
import { isUserError } from '../../src/system/errors.js';
import { sha256File } from '../../src/system/fs.js';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const demo = join(repoRoot, 'models/synthetic-road-fcn8s');
const EVAL_IMAGES = 24;
// At module level: makeTempDir's cleanup would run when before() ends.
const root = await makeTempDir('edgeseg-quantize-cli-');
const int8Dir = join(root, 'demo-int8');
let manifest: ModelManifest;

before(async () => {
  const result = await runCli(
    [
      'quantize',
      demo,
      '--out',
      int8Dir,
      '--data-source',
      'synthetic-road',
      '--calibration-images',
      '8',
      '--eval-images',
      String(EVAL_IMAGES),
      '--method',
      'minmax',
      '--float-layers',
      'none',
      '--json',
    ],
    { timeoutMs: 180_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  manifest = await readManifest(int8Dir);
});

test('the int8 model directory records precision, calibration set and measured accuracy', async () => {
  const fp32 = await readManifest(demo);
  assert.equal(fp32.precision, 'fp32');
  assert.equal(manifest.precision, 'int8');
  const q = manifest.quantization!;
  assert.deepEqual(
    { ...q.calibration },
    { dataSource: 'synthetic-road', images: 8, split: 'training', seed: 0, method: 'minmax' },
  );
  assert.equal(q.activations, 'uint8');
  assert.equal(q.weightBits, 7, '7-bit weights by default: exact on x86 without VNNI too');
  assert.deepEqual(q.accuracy.int8Kernels, [await int8KernelFamily()], 'measured on this CPU');
  assert.deepEqual(
    q.methods.map((m) => m.method),
    ['minmax'],
  );
  assert.equal(q.quantizedLayers.length, 18);
  assert.deepEqual(
    q.floatLayers.map((f) => f.layer),
    ['upscore_layer3', 'upscore_layer4', 'upscore_layer7'],
  );
  assert.equal(q.accuracy.samples, EVAL_IMAGES);
  assert.ok(Math.abs(q.accuracy.int8MIoU - q.accuracy.fp32MIoU) < 0.01, JSON.stringify(q.accuracy));
  assert.deepEqual(q.source, { name: fp32.name, onnxSha256: fp32.files.onnxSha256 });
  assert.match(q.command ?? '', /^edgeseg quantize /);
  // model.onnx is what the manifest hashes; the fp32-only tfjs copy is not carried over.
  assert.equal(manifest.files.onnxSha256, await sha256File(join(int8Dir, 'model.onnx')));
  assert.equal(manifest.files.tfjs, undefined);
  assert.deepEqual(manifest.training, fp32.training, 'the training record (held-out split) is kept');
  const int8Size = (await readFile(join(int8Dir, 'model.onnx'))).length;
  const fp32Size = (await readFile(join(demo, 'model.onnx'))).length;
  assert.ok(int8Size < 0.5 * fp32Size, `int8 ${int8Size} bytes, fp32 ${fp32Size}`);
});

test('edgeseg eval measures the int8 model as the manifest recorded', { timeout: 120_000 }, async () => {
  const result = await runCli(
    ['eval', '--model', int8Dir, '--data-source', 'synthetic-road', '--limit', String(EVAL_IMAGES), '--json'],
    { timeoutMs: 110_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { mIoU: number; samples: number };
  assert.equal(report.samples, EVAL_IMAGES);
  assert.ok(
    Math.abs(report.mIoU - manifest.quantization!.accuracy.int8MIoU) < 1e-6,
    `eval ${report.mIoU}, manifest ${manifest.quantization!.accuracy.int8MIoU}`,
  );
  // The recorded quick check is what `eval --limit` gives on its first scenes (the emulated-CPU test relies on it).
  const check = manifest.quantization!.accuracy.quickCheck!;
  assert.equal(check.samples, 10);
  const quick = await runCli(
    [
      'eval',
      '--model',
      int8Dir,
      '--data-source',
      'synthetic-road',
      '--limit',
      String(check.samples),
      '--json',
    ],
    { timeoutMs: 110_000 },
  );
  assert.equal(quick.code, 0, quick.stderr);
  assert.equal((JSON.parse(quick.stdout) as { mIoU: number }).mIoU, check.int8MIoU);
});

test('the engine and the Segmenter run the int8 model like any model, in process and in a worker', async () => {
  const size = { height: manifest.input.height, width: manifest.input.width };
  const frame = { data: renderSyntheticScene(0x80000000 + 7, size).image, ...size };
  const masks: Uint8Array[] = [];
  for (const [dir, inferenceThread] of [
    [demo, 'main'],
    [int8Dir, 'main'],
    [int8Dir, 'worker'],
  ] as const) {
    const engine = await createEngine(dir, { runtime: 'auto', executionProviders: ['cpu'], inferenceThread });
    try {
      assert.equal(engine.info.runtime, 'onnxruntime');
      // int8 models say which int8 kernels run them, in process and from the worker alike.
      assert.equal(engine.info.int8Kernels, dir === int8Dir ? await int8KernelFamily() : undefined);
      const result = await new Segmenter(engine).segment(frame);
      assert.ok(result.classMask.every((id) => id < manifest.classes.length));
      masks.push(result.classMask.slice());
    } finally {
      await engine.stop();
    }
  }
  const [fp32Mask, int8Mask, workerMask] = masks as [Uint8Array, Uint8Array, Uint8Array];
  assert.deepEqual(workerMask, int8Mask, 'the worker thread runs the same int8 model');
  const same = fp32Mask.filter((id, i) => id === int8Mask[i]).length / fp32Mask.length;
  assert.ok(same > 0.98, `int8 and fp32 masks agree on ${(same * 100).toFixed(2)} % of pixels`);
});

test('bench --compare times the fp32 and int8 models in alternating rounds', {
  timeout: 120_000,
}, async () => {
  const result = await runCli(
    ['bench', '--model', demo, '--compare', int8Dir, '--rounds', '2', '--frames', '2', '--json'],
    { timeoutMs: 110_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    a: { precision: string; frameMedianMs: number };
    b: { precision: string; frameMedianMs: number };
    rounds: Array<{ speedup: number }>;
    speedup: number;
  };
  assert.equal(report.a.precision, 'fp32');
  assert.equal(report.b.precision, 'int8');
  assert.equal(report.rounds.length, 2);
  assert.ok(report.a.frameMedianMs > 0 && report.b.frameMedianMs > 0 && report.speedup > 0);
});

test('quantize refuses bad input, naming the flag or the file', { timeout: 120_000 }, async () => {
  const before = await sha256File(join(int8Dir, 'model.onnx'));
  // Through the CLI: exit 1, the message and the hint, no stack trace.
  const cliCases: Array<[string, string[], RegExp[]]> = [
    ['existing --out', ['quantize', demo, '--out', int8Dir], [/already exists/, /hint: .*--overwrite/]],
    [
      '--calibration-images 0',
      ['quantize', demo, '--out', join(root, 'x'), '--calibration-images', '0'],
      [/--calibration-images/, /must be a positive integer, got "0"/],
    ],
  ];
  const results = await Promise.all(cliCases.map(([, args]) => runCli(args, { timeoutMs: 110_000 })));
  for (const [index, [what, , patterns]] of cliCases.entries()) {
    const result = results[index]!;
    assert.equal(result.code, 1, `${what}: exit ${result.code}\n${result.stderr}`);
    for (const pattern of patterns) assert.match(result.stderr, pattern, what);
    assert.doesNotMatch(result.stderr, /internal error/, what);
  }
  assert.equal(await sha256File(join(int8Dir, 'model.onnx')), before, 'the existing int8 model is untouched');

  // The same errors from the library, without a process per case.
  const options = {
    modelDir: demo,
    outDir: join(root, 'y'),
    dataSource: 'synthetic-road',
    dataSourceOptions: {},
    calibrationImages: 2,
    seed: 0,
    method: 'minmax' as const,
    activations: 'uint8' as const,
    weightBits: 7 as const,
    floatLayers: [] as string[],
    maxDrop: 0.01,
    progress: false,
  };
  const refusals: Array<[string, Partial<QuantizeOptions>, RegExp]> = [
    ['unknown layer', { floatLayers: ['conv9_9'] }, /--float-layers: unknown layer "conv9_9"/],
    ['an int8 model', { modelDir: int8Dir }, /already int8/],
    ['--out = MODELDIR', { outDir: demo }, /--out: must name a new model directory/],
    ['no model', { modelDir: join(root, 'missing') }, /missing: model directory not found/],
  ];
  for (const [what, change, pattern] of refusals)
    await assert.rejects(
      quantizeModel({ ...options, ...change }),
      (error: unknown) => isUserError(error) && pattern.test(error.message),
      what,
    );
  // --overwrite replaces a model directory or an empty folder, never another folder a typo names.
  const notAModel = join(root, 'photos');
  await mkdir(notAModel);
  await writeFile(join(notAModel, 'holiday.jpg'), 'x');
  await assert.rejects(
    quantizeModel({ ...options, outDir: notAModel, overwrite: true }),
    /photos: exists and is not a model directory/,
  );
  assert.equal(await checkOutDir(int8Dir, demo, true), int8Dir);
  const other = join(root, 'other-size');
  await writeFixtureModelDir(other, { height: 12, width: 24 });
  await assert.rejects(
    compareModels({
      modelA: demo,
      modelB: other,
      rounds: 1,
      framesPerRound: 1,
      engine: DEFAULT_ENGINE_OPTIONS,
    }),
    /--compare: .* takes 12x24 frames/,
  );
});
