import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { readEventRecords } from '../../src/train/event-file.js';
import { writeKittiTree } from '../data/trees.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { writeVgg16Onnx } from '../model/vgg16-fixture.js';

/** A model small enough to train in seconds: 32x64 images, 1/32 of VGG16's width, on wasm. */
const tinyModel = ['--size', '32x64', '--batch-size', '4', '--width', '0.03125', '--tf-backend', 'wasm'];
const tinyRun = ['train', '--data-source', 'synthetic-road', '--num-validation', '4', ...tinyModel];

test('edgeseg train runs end to end: checkpoints, TensorBoard events, HTML report, exported model', async () => {
  const dir = await makeTempDir();
  const out = join(dir, 'run');
  // Micro-batches of 1 over the main thread and a worker: two rounds per step of 4.
  const result = await runCli(
    [...tinyRun, '--num-training', '8', '--epochs', '2', '--micro-batch', '1', '--out', out],
    { timeoutMs: 120_000 },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /TensorFlow\.js backend: wasm/);
  // The bar moves within a step, with an ETA from the first step's own micro-batches (a full-width
  // step on wasm takes minutes); the log (not a terminal) gets a line per 10 %.
  assert.match(
    result.stderr,
    /epoch 1\/2: 2\/8 images \(25%, [\d.]+ s\) step 1 \| [\d.]+ img\/s \| epoch ETA \d+s \| run ETA \d+s/,
  );
  assert.match(
    result.stderr,
    /epoch 2\/2: train loss [\d.]+, val loss [\d.]+, pixel acc [\d.]+ %, mIoU [\d.]+/,
  );
  assert.match(result.stdout, /finished after 2 epoch\(s\)/);

  const manifest = await readManifest(join(out, 'model'));
  assert.equal(manifest.training?.dataSource, 'synthetic-road');
  // Named after its run folder, not the bundled demo model (synthetic-road-fcn8s).
  assert.equal(manifest.name, 'synthetic-road-fcn8s-run');
  assert.equal(manifest.training?.epochs, 2);
  assert.ok(typeof manifest.training?.validationMIoU === 'number');
  assert.match(manifest.training?.command ?? '', /^edgeseg train --data-source synthetic-road/);
  assert.deepEqual(
    manifest.classes.map((c) => c.name),
    ['sky', 'road', 'sidewalk', 'background', 'vehicle', 'person'],
  );

  const report = await readFile(join(out, 'report.html'), 'utf8');
  assert.match(report, /<svg[^>]*aria-label="loss/);
  assert.equal(report.match(/src="data:image\/png;base64,/g)?.length, 6, '3 samples x (truth, prediction)');
  assert.doesNotMatch(
    report,
    /(src|href)="(https?:)?\/\//,
    'the report must not load anything from a server',
  );

  const logs = await readdir(join(out, 'logs'));
  const events = readEventRecords(await readFile(join(out, 'logs', logs[0]!)));
  const tags = events.flatMap((e) =>
    ((e.summary as { value?: Array<{ tag: string }> })?.value ?? []).map((v) => v.tag),
  );
  for (const tag of ['loss/train', 'loss/validation', 'metrics/mIoU', 'metrics/pixel_accuracy', 'iou/road'])
    assert.ok(tags.includes(tag), `missing scalar ${tag}`);
  assert.ok(tags.includes('validation/0/prediction') && tags.includes('validation/2/ground_truth'));

  const checkpoints = await readdir(join(out, 'checkpoints'));
  assert.ok(checkpoints.includes('latest.json') && checkpoints.includes('best.json'));
});

test('edgeseg train on a KITTI-format tree: split, export, eval; a second fresh run into it is refused', async () => {
  const dir = await makeTempDir();
  const tree = await writeKittiTree(dir, { count: 10 });
  const out = join(dir, 'run');
  const kittiRun = [
    'train',
    '--data-source',
    'kitti',
    '--data-dir',
    tree.dataRoad,
    '--validation-fraction',
    '0.2',
    ...tinyModel,
    '--no-progress',
    '--out',
    out,
  ];
  const result = await runCli([...kittiRun, '--epochs', '2'], { timeoutMs: 120_000 });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /data: kitti, 8 training \/ 2 validation images at 32x64, 2 classes/);
  assert.match(
    result.stderr,
    /epoch 2\/2: train loss [\d.]+, val loss [\d.]+, pixel acc [\d.]+ %, mIoU [\d.]+/,
  );

  const manifest = await readManifest(join(out, 'model'));
  assert.equal(manifest.training?.dataSource, 'kitti');
  assert.deepEqual(
    manifest.classes.map((c) => c.name),
    ['background', 'road'],
  );
  const evalArgs = [
    'eval',
    '--model',
    join(out, 'model'),
    '--data-source',
    'kitti',
    '--data-dir',
    tree.dataRoad,
  ];
  const evaluated = await runCli([...evalArgs, '--json'], { timeoutMs: 60_000 });
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const metrics = JSON.parse(evaluated.stdout) as { mIoU: number; samples: number; fromTraining: object };
  // The run's --validation-fraction 0.2 is recorded, so eval measures the same held-out split.
  assert.deepEqual(manifest.training?.dataSourceOptions, { validationFraction: 0.2 });
  assert.deepEqual(metrics.fromTraining, { validationFraction: 0.2 });
  assert.equal(metrics.samples, 2);
  assert.ok(metrics.mIoU >= 0 && metrics.mIoU <= 1, `mIoU ${metrics.mIoU}`);
  const table = await runCli(evalArgs, { timeoutMs: 60_000 });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /on kitti: 2 images/);
  assert.match(table.stdout, /held-out split as in training \(from the manifest\): validationFraction 0\.2/);
  const explicit = await runCli([...evalArgs, '--validation-fraction', '0.1', '--json'], {
    timeoutMs: 60_000,
  });
  assert.equal(explicit.code, 0, explicit.stderr);
  assert.equal(
    (JSON.parse(explicit.stdout) as { samples: number }).samples,
    1,
    'a flag overrides the record',
  );

  // Forgetting --resume must not start over on top of the finished run.
  const again = await runCli([...kittiRun, '--epochs', '1'], { timeoutMs: 60_000 });
  assert.equal(again.code, 1, again.stderr);
  assert.match(
    again.stderr,
    /checkpoints\/latest\.json: this folder already holds a training run \(checkpoint epoch-0002/,
  );
  assert.match(again.stderr, /hint: add --resume to continue it, --overwrite to delete it and start over/);
  assert.deepEqual(await readManifest(join(out, 'model')), manifest);

  // A resume may lengthen the run, but not change what the finished steps were made with.
  const changed = await runCli(['train', '--out', out, '--resume', '--batch-size', '2'], {
    timeoutMs: 60_000,
  });
  assert.equal(changed.code, 1, changed.stderr);
  assert.match(
    changed.stderr,
    /--batch-size: is 2 but the run being resumed has 4; a resumed run keeps its settings/,
  );
  const otherSplit = await runCli(['train', '--out', out, '--resume', '--validation-fraction', '0.1'], {
    timeoutMs: 60_000,
  });
  assert.equal(otherSplit.code, 1, otherSplit.stderr);
  assert.match(otherSplit.stderr, /--validation-fraction: is 0\.1 but the run being resumed has 0\.2/);
  const longer = await runCli(['train', '--out', out, '--resume', '--epochs', '3', '--tf-backend', 'wasm'], {
    timeoutMs: 120_000,
  });
  assert.equal(longer.code, 0, longer.stderr);
  assert.match(longer.stderr, /--epochs 3 instead of the run's 2/);
  assert.match(longer.stderr, /data: kitti, 8 training \/ 2 validation images at 32x64/);
  assert.match(longer.stderr, /epoch 3\/3: train loss/);
  const lengthened = await readManifest(join(out, 'model'));
  assert.equal(lengthened.training?.epochs, 3);
  assert.match(lengthened.training?.command ?? '', /^edgeseg train --data-source kitti .*--epochs 2/);
  assert.match(String(lengthened.training?.resumedWith), /--resume --epochs 3/);
});

/**
 * A data-source plugin that presses Ctrl-C on its own process once, as it hands out its 4th
 * training batch: the interrupt lands in the middle of the epoch by construction, not by timing.
 * Its batches resolve as microtasks, so the CLI only sees the signal if the training loop yields
 * to the event loop between steps.
 */
const PRESSES_CTRL_C = `
import { existsSync, writeFileSync } from 'node:fs';
const marker = new URL('./interrupted-once', import.meta.url);
export default function createDataSource() {
  const height = 32, width = 64;
  async function* batches(count, batchSize, interruptAt) {
    for (let start = 0, index = 0; start < count; start += batchSize, index++) {
      if (index === interruptAt && !existsSync(marker)) {
        writeFileSync(marker, '');
        process.kill(process.pid, 'SIGINT');
      }
      const size = Math.min(batchSize, count - start);
      const images = new Uint8Array(size * height * width * 3);
      const labels = new Uint8Array(size * height * width);
      for (let i = 0; i < labels.length; i++) labels[i] = (i % width) < width / 2 ? 0 : 1;
      for (let i = 0; i < images.length; i++) images[i] = labels[Math.floor(i / 3)] * 200;
      yield { size, height, width, images, labels, names: Array.from({ length: size }, (_, k) => 'tile-' + (start + k)) };
    }
  }
  return {
    name: 'halves',
    imageSize: { height, width },
    numClasses: 2,
    classes: [{ id: 0, name: 'left', color: [0, 0, 0] }, { id: 1, name: 'right', color: [255, 255, 0] }],
    labelColors: [[0, 0, 0], [255, 255, 0]],
    numTraining: 40,
    numValidation: 4,
    trainGenerator: (batchSize) => batches(40, batchSize, 3),
    validGenerator: (batchSize) => batches(4, batchSize, -1),
  };
}
`;

test('Ctrl-C stops after the current step with a checkpoint, and --resume finishes the run', async () => {
  const dir = await makeTempDir();
  const out = join(dir, 'run');
  const plugin = join(dir, 'halves.mjs');
  await writeFile(plugin, PRESSES_CTRL_C);
  // With a gradient worker: Ctrl-C must end its thread too, or the process would never exit.
  const interrupted = await runCli(
    [
      'train',
      '--data-source',
      plugin,
      ...tinyModel,
      '--train-workers',
      '1',
      '--epochs',
      '1',
      '--out',
      out,
      '--no-export',
    ],
    { timeoutMs: 120_000 },
  );
  assert.equal(interrupted.code, 130, interrupted.stderr);
  assert.match(interrupted.stderr, /threads: the main thread and 1 gradient worker \(--train-workers 1;/);
  // Three steps ran before the 4th batch was handed out with the signal; that batch's step is the last.
  assert.match(interrupted.stderr, /interrupted: saved checkpoint epoch-0001-step-000004 /);

  // --resume alone: every setting (data source, size, width...) comes from the checkpoint.
  const resumed = await runCli(['train', '--out', out, '--resume', '--tf-backend', 'wasm', '--no-export'], {
    timeoutMs: 120_000,
  });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /data: halves, 40 training \/ 4 validation images at 32x64/);
  assert.match(resumed.stderr, /resuming from epoch-0001-step-000004: epoch 1, batch 5/);
  // An ETA before the first resumed step (the rate the checkpoint recorded), and a bar that starts
  // at the 16 images already done instead of ticking through them as if they had just been trained.
  assert.match(resumed.stderr, /time left: [\d.]+ img\/s \| epoch ETA \d+s \| run ETA \d+s/);
  assert.match(resumed.stderr.match(/^epoch 1\/1: .*$/m)?.[0] ?? '', /^epoch 1\/1: 20\/40 images \(50%/);
  assert.match(resumed.stdout, /finished after 1 epoch\(s\)/);
});

test('--vgg16 starts the encoder from a VGG16 ONNX file: the exported model takes RGB, torchvision-normalised', async () => {
  const dir = await makeTempDir();
  const vggPath = join(dir, 'vgg16.onnx');
  await writeVgg16Onnx(vggPath, { widthMultiplier: 0.03125, seed: 3 });
  const out = join(dir, 'run');
  const result = await runCli(
    [...tinyRun, '--num-training', '4', '--epochs', '1', '--vgg16', vggPath, '--out', out],
    {
      timeoutMs: 120_000,
    },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /encoder initialised from .*vgg16\.onnx/);
  const manifest = await readManifest(join(out, 'model'));
  assert.equal(manifest.input.channelOrder, 'RGB');
  assert.equal(manifest.input.inModelNormalization?.source, 'torchvision');

  const wrongWidth = await runCli(
    [...tinyRun, '--width', '0.0625', '--epochs', '1', '--vgg16', vggPath, '--out', join(dir, 'bad')],
    {
      timeoutMs: 60_000,
    },
  );
  assert.equal(wrongWidth.code, 1);
  assert.match(wrongWidth.stderr, /vgg16\.onnx/);
});
