// The speed table's inputs and its one-run report: parameters and forward FLOPs counted from the
// ONNX graph agree with the architecture's own count for every encoder (depthwise, squeeze-excite,
// strided pools and transposed convolutions included) and do not change under int8 QDQ; and
// `bench --models` times models of different input sizes in alternating rounds, ratios to the first.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelCost } from '../../src/bench/model-cost.js';
import type { TableReport } from '../../src/bench/model-table.js';
import { forwardFlopsPerImage } from '../../src/bench/training.js';
import { exportModel } from '../../src/export/export.js';
import { buildFcnOnnx } from '../../src/export/fcn-onnx.js';
import {
  CAFFE_VGG_NORMALIZATION,
  type FcnConfig,
  TORCHVISION_NORMALIZATION,
} from '../../src/model/architecture.js';
import { createFcn8s, initialWeights } from '../../src/model/fcn8s.js';
import { initTf } from '../../src/model/tf.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const demo = join(repoRoot, 'models/synthetic-road-fcn8s');
const demoInt8 = join(repoRoot, 'models/synthetic-road-fcn8s-int8');

function config(encoder: FcnConfig['encoder'], widthMultiplier: number): FcnConfig {
  const vgg = encoder === 'vgg16';
  return {
    encoder,
    numClasses: 3,
    height: 64,
    width: 96,
    widthMultiplier,
    head: 'fcn8s',
    inputChannelOrder: vgg ? 'BGR' : 'RGB',
    normalization: vgg ? CAFFE_VGG_NORMALIZATION : TORCHVISION_NORMALIZATION,
  };
}

for (const [encoder, width] of [
  ['vgg16', 0.0625],
  ['resnet18', 0.25],
  ['mobilenetv3', 0.25],
] as const)
  test(`${encoder}: parameters and FLOPs from the ONNX graph equal the architecture's count`, async () => {
    const c = config(encoder, width);
    const weights = initialWeights(c);
    const path = join(await makeTempDir(), 'model.onnx');
    await writeFile(path, await buildFcnOnnx(c, async (name) => weights.get(name)!.values, 'shapes'));
    const cost = await modelCost(path, { name: 'image', dims: [1, 3, 64, 96], dtype: 'float32' });
    let parameters = 0;
    for (const tensor of weights.values()) parameters += tensor.values.length;
    assert.equal(cost.parameters, parameters);
    const expected = forwardFlopsPerImage(c);
    assert.ok(
      Math.abs(cost.forwardFlops - expected) <= 1e-9 * expected,
      `ONNX ${cost.forwardFlops} vs architecture ${expected} FLOPs`,
    );
  });

test('an int8 (QDQ) copy has the parameters and FLOPs of its fp32 model', async () => {
  const input = { name: 'image', dims: [1, 3, 96, 288], dtype: 'float32' as const };
  const fp32 = await modelCost(join(demo, 'model.onnx'), input);
  const int8 = await modelCost(join(demoInt8, 'model.onnx'), input);
  assert.deepEqual(int8, fp32);
  assert.ok(fp32.forwardFlops > 0.1e9, `${fp32.forwardFlops} FLOPs`);
});

test('bench --models times models of different sizes in one run, ratios to the first and to the first of each size', {
  timeout: 180_000,
}, async () => {
  await initTf('auto');
  const light = join(await makeTempDir(), 'mobilenetv3');
  const model = createFcn8s(config('mobilenetv3', 0.25), { seed: 3 });
  await exportModel(model, light, { name: 'light' });
  model.dispose();
  const args = ['bench', '--models', demo, demoInt8, light, '--rounds', '3', '--frames', '2', '--no-tfjs'];
  const result = await runCli([...args, '--json'], { timeoutMs: 170_000 });
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as TableReport;
  assert.deepEqual(
    report.rows.map((row) => [row.model, row.input, row.precision, row.sameInputReference]),
    [
      [demo, '96x288', 'fp32', demo],
      [demoInt8, '96x288', 'int8', demo],
      [light, '64x96', 'fp32', light],
    ],
  );
  assert.equal(report.roundMedians.length, 3);
  const median = (values: number[]) => values.sort((a, b) => a - b)[1]!;
  for (const [index, row] of report.rows.entries()) {
    for (const round of report.roundMedians) assert.ok(round[index]! > 0, `${row.name} timed in every round`);
    const vsFirst = median(report.roundMedians.map((round) => round[0]! / round[index]!));
    assert.ok(Math.abs(row.vsFirst - vsFirst) < 1e-9, `${row.name}: ${row.vsFirst} vs ${vsFirst}`);
    assert.ok(row.parameters > 0 && row.forwardGflop > 0, row.name);
  }
  assert.equal(report.rows[0]!.vsFirst, 1);
  assert.equal(report.rows[2]!.vsSameInputReference, 1);
  assert.equal(report.rows[1]!.vsSameInputReference, report.rows[1]!.vsFirst);
  assert.equal(report.rows[0]!.forwardGflop, report.rows[1]!.forwardGflop);

  const refused = await runCli(['bench', '--model', demo, '--models', demoInt8, light]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /bench --models takes every model itself: leave out --model/);
});
