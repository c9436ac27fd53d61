// `edgeseg train`: parses flags and prints progress; the training itself lives in src/train/.

import type { Command } from 'commander';
import type { ImageSize } from '../data/types.js';
import { ENCODERS } from '../model/architecture.js';
import { parseEncoder } from '../model/encoder-weights.js';
import type { TfBackendChoice } from '../model/tf.js';
import { ConfigError } from '../system/errors.js';
import { checkOutputFolder } from '../system/fs.js';
import { TRAINING_DEFAULTS as D } from '../train/defaults.js';
import {
  addDataSourceFlags,
  type DataSourceCliFlags,
  dataSourceOptionsFromFlags,
} from './data-source-options.js';
import { autoOrIntegerOption, integerOption, numberOption, sizeOption } from './parse.js';

interface TrainFlags extends DataSourceCliFlags {
  out?: string;
  epochs: number;
  batchSize: number;
  microBatch: number | 'auto';
  trainWorkers: number | 'auto';
  lr: number;
  lrSchedule: string;
  dropout: number;
  width: number;
  encoder: string;
  imagenet?: string;
  head: string;
  size?: ImageSize;
  init?: string;
  vgg16?: string;
  classWeights?: string;
  resume?: boolean;
  overwrite?: boolean;
  seed: number;
  tfBackend: string;
  progress: boolean;
  export: boolean;
}

/** A recorded setting as the text of its flag (a size as HxW); undefined for what no flag takes. */
function asFlagText(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  const size = value as { height?: unknown; width?: unknown } | null | undefined;
  return typeof size?.height === 'number' && typeof size.width === 'number'
    ? `${size.height}x${size.width}`
    : undefined;
}

/**
 * With --resume, every flag not given on the command line takes the value the run recorded, so
 * `edgeseg train --out DIR --resume` is enough; flags that are given are checked against the record.
 * (Class weights are recorded as numbers, not as the --class-weights file: run.ts reuses them.)
 */
async function applyRecordedSettings(flags: TrainFlags, command: Command, out: string): Promise<void> {
  const { readLatestState } = await import('../train/checkpoints.js');
  const { DATA_OPTION_FLAGS, SETTING_FLAGS } = await import('../train/resume-settings.js');
  const { settings } = (await readLatestState(out)).state;
  const data = (settings.dataSourceOptions ?? {}) as Record<string, unknown>;
  const recorded: Array<[string, unknown]> = [
    ...Object.entries(SETTING_FLAGS).map(([key, flag]): [string, unknown] => [flag, settings[key]]),
    ...Object.entries(DATA_OPTION_FLAGS).map(([key, flag]): [string, unknown] => [flag, data[key]]),
  ];
  const target = flags as unknown as Record<string, unknown>;
  for (const [flag, value] of recorded) {
    const option = command.options.find((candidate) => candidate.long === flag);
    const attribute = option?.attributeName();
    const text = asFlagText(value);
    // Through the flag's own parser, as if it had been typed: a recorded value is checked the same way.
    if (option && attribute && text !== undefined && command.getOptionValueSource(attribute) !== 'cli')
      target[attribute] = option.parseArg ? option.parseArg(text, undefined) : text;
  }
}

export function register(program: Command): void {
  const command = program
    .command('train')
    .description(
      'train an FCN-8s on a data source: Adam, per-pixel softmax cross-entropy, validation metrics every epoch, ' +
        'atomic checkpoints with exact --resume, TensorBoard logs, an HTML report, and the best model exported to OUT/model',
    );
  addDataSourceFlags(command)
    .option('--out <dir>', 'run folder: checkpoints/, logs/ (TensorBoard), report.html, model/')
    .addOption(integerOption('--epochs <n>', 'epochs', { min: 1, max: 100_000 }, D.epochs))
    .addOption(integerOption('--batch-size <n>', 'images per step', { min: 1, max: 4096 }, D.batchSize))
    .addOption(
      autoOrIntegerOption(
        '--micro-batch <n>',
        'images per forward/backward pass, gradients summed over the batch: auto fits the backend memory',
        { min: 1, max: 4096 },
      ),
    )
    .addOption(
      autoOrIntegerOption(
        '--train-workers <n>',
        'threads that compute gradients besides the main one (wasm, cpu): auto = cores - 1, as memory allows',
        { min: 0, max: 64 },
      ),
    )
    .addOption(
      numberOption(
        '--lr <rate>',
        'Adam learning rate',
        { min: 0, minExclusive: true, max: 10 },
        D.learningRate,
      ),
    )
    .option(
      '--lr-schedule <schedule>',
      'constant (the original) | cosine (decays to 1 % of --lr by the last step)',
      D.learningRateSchedule,
    )
    .addOption(
      numberOption(
        '--dropout <rate>',
        'dropout after fc6 and fc7 while training (lower suits a narrow --width)',
        { min: 0, max: 1, maxExclusive: true },
        D.dropoutRate,
      ),
    )
    .option('--encoder <name>', `${ENCODERS.join(' | ')} (see docs/model.md)`, 'vgg16')
    .addOption(
      numberOption(
        '--width <multiplier>',
        'channel width multiplier; 1 is the real network, small values train fast',
        { min: 0, minExclusive: true, max: 1 },
        D.widthMultiplier,
      ),
    )
    .option('--head <head>', 'fcn8s (cascaded paper head) | original (parallel 8/16/32 upsampling)', D.head)
    .addOption(
      sizeOption(
        '--size <HxW>',
        "training image size, both sides multiples of 32 (default: the data source's, e.g. 160x576 for KITTI)",
        32,
      ),
    )
    .option(
      '--imagenet <file>',
      "initialise the encoder from an ImageNet ONNX file: torchvision's vgg16 (or the model zoo's), resnet18 or mobilenet_v3_large, as --encoder says (the model then takes RGB)",
    )
    .option('--vgg16 <file>', 'the same as --encoder vgg16 --imagenet FILE')
    .option(
      '--init <checkpoint>',
      "start from this checkpoint's weights, e.g. one made by `edgeseg model init` (see docs/model.md)",
    )
    .option(
      '--class-weights <file>',
      'loss weights: `edgeseg check-data --json` output (median-frequency balancing) or {"weights": [...]}',
    )
    .option(
      '--resume',
      'continue the run in --out exactly where it stopped (weights, Adam state, data order), with the settings it recorded; only --epochs may change',
    )
    .option(
      '--overwrite',
      'start over in an --out that holds an earlier run, deleting its checkpoints/, logs/, model/ and report.html',
    )
    .addOption(
      integerOption(
        '--seed <n>',
        'seed for initial weights, data order, augmentation and dropout',
        { min: 0 },
        D.seed,
      ),
    )
    .option('--tf-backend <backend>', 'auto (tensorflow → wasm → cpu) | tensorflow | wasm | cpu', 'auto')
    .option('--no-progress', 'no progress bar (epoch summaries only)')
    .option('--no-export', 'do not export the best checkpoint to OUT/model at the end')
    .addHelpText(
      'after',
      `
Examples:
  edgeseg train --data-source kitti --data-dir data/data_road --out runs/kitti
  edgeseg train --data-source synthetic-road --size 96x288 --width 0.25 --lr 1e-3 --out runs/demo
  edgeseg train --out runs/kitti --resume            # after Ctrl-C or a crash: the run's own settings
  edgeseg train --out runs/kitti --resume --epochs 15   # or make it longer
  edgeseg train --data-source kitti --data-dir data/data_road --out runs/kitti --overwrite   # start over

The defaults of --epochs, --batch-size, --lr, --lr-schedule and --dropout are the original
implementation's (docs/original-vs-paper.md).
Ctrl-C stops after the current step and saves a checkpoint; --resume continues bit-exactly.
Open OUT/report.html in a browser, or run: tensorboard --logdir OUT/logs`,
    )
    .action(async (flags: TrainFlags, command: Command) => {
      if (!flags.out) throw new ConfigError('--out', 'is required (the run folder)');
      if (flags.resume) await applyRecordedSettings(flags, command, flags.out);
      if (!flags.dataSource)
        throw new ConfigError(
          '--data-source',
          'is required (kitti, cityscapes, synthetic-road or a module path)',
        );
      if (flags.head !== 'fcn8s' && flags.head !== 'original')
        throw new ConfigError('--head', `must be fcn8s or original, got ${JSON.stringify(flags.head)}`);
      const backends = ['auto', 'tensorflow', 'wasm', 'cpu'];
      if (!backends.includes(flags.tfBackend))
        throw new ConfigError(
          '--tf-backend',
          `must be one of ${backends.join(', ')}, got ${JSON.stringify(flags.tfBackend)}`,
        );
      if (flags.lrSchedule !== 'constant' && flags.lrSchedule !== 'cosine')
        throw new ConfigError(
          '--lr-schedule',
          `must be constant or cosine, got ${JSON.stringify(flags.lrSchedule)}`,
        );
      const { dropout: dropoutRate, seed } = flags;
      if (flags.vgg16 && (flags.imagenet || flags.encoder !== 'vgg16'))
        throw new ConfigError('--vgg16', 'is --encoder vgg16 --imagenet FILE; give one or the other');
      const imagenetFile = flags.imagenet ?? flags.vgg16;
      // Before the data and the model load: a read-only or unwritable run folder is said at once.
      await checkOutputFolder(flags.out, '--out');
      const { runTraining } = await import('../train/run.js');
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) {
          process.stderr.write('\nsecond Ctrl-C: exiting without saving\n');
          process.exit(130);
        }
        process.stderr.write(
          '\nCtrl-C: stopping after the current step and saving a checkpoint (Ctrl-C again to quit now)\n',
        );
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const result = await runTraining({
          dataSource: flags.dataSource,
          dataSourceOptions: dataSourceOptionsFromFlags(flags, {
            imageSize: flags.size,
            seed,
          }),
          runDir: flags.out,
          epochs: flags.epochs,
          batchSize: flags.batchSize,
          microBatchSize: flags.microBatch,
          trainWorkers: flags.trainWorkers,
          learningRate: flags.lr,
          learningRateSchedule: flags.lrSchedule,
          dropoutRate,
          widthMultiplier: flags.width,
          head: flags.head,
          seed,
          classWeightsFile: flags.classWeights,
          initFrom: flags.init,
          encoder: parseEncoder(flags.vgg16 ? 'vgg16' : flags.encoder),
          ...(imagenetFile ? { imagenetFile } : {}),
          resume: flags.resume === true,
          overwrite: flags.overwrite === true,
          backend: flags.tfBackend as TfBackendChoice,
          command: ['edgeseg', ...process.argv.slice(2)].join(' '),
          signal: controller.signal,
          log: (line) => process.stderr.write(`${line}\n`),
          progress: flags.progress,
          exportBest: flags.export,
        });
        const best =
          result.bestMIoU === null
            ? 'no epoch finished'
            : `best mIoU ${result.bestMIoU.toFixed(4)} (epoch ${result.bestEpoch})`;
        process.stdout.write(
          `${result.interrupted ? 'stopped' : 'finished'} after ${result.epochs} epoch(s) in ${(result.seconds / 60).toFixed(1)} min on ${result.backend}: ${best}\n` +
            `report: ${result.reportPath}\n${result.modelDir ? `model: ${result.modelDir}\n` : ''}`,
        );
        if (result.interrupted) process.exitCode = 130;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
