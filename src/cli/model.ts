// `edgeseg model init`: write an untrained FCN-8s checkpoint.

import type { Command } from 'commander';
import { initModel } from '../model/init.js';
import { describeTfBackend } from '../model/tf.js';
import { parseSize } from './parse.js';

export function register(program: Command): void {
  const model = program.command('model').description('create FCN-8s checkpoints');
  model
    .command('init')
    .description('write an untrained FCN-8s checkpoint (tfjs format)')
    .requiredOption('--classes <n>', 'number of classes', (v) => Number.parseInt(v, 10))
    .requiredOption(
      '--size <HxW>',
      'input size, height x width, both divisible by 32 (e.g. 160x576)',
      parseSize,
    )
    .requiredOption('--out <dir>', 'checkpoint directory to write')
    .option(
      '--width <w>',
      'channel width multiplier; 1 is the real VGG16 (134M parameters)',
      Number.parseFloat,
      1,
    )
    .option('--head <head>', 'fcn8s (paper cascade) or original (parallel x8/x16/x32)', 'fcn8s')
    .option('--seed <n>', 'seed for the initial weights', (v) => Number.parseInt(v, 10), 1)
    .action(
      async (options: {
        classes: number;
        size: { height: number; width: number };
        out: string;
        width: number;
        head: string;
        seed: number;
      }) => {
        const result = await initModel({
          numClasses: options.classes,
          size: options.size,
          widthMultiplier: options.width,
          head: options.head,
          seed: options.seed,
          outDir: options.out,
        });
        process.stderr.write(`${describeTfBackend(result.backend)}\n`);
        process.stdout.write(
          `wrote ${result.outDir}: FCN-8s (${result.head} head), ${options.classes} classes, ${options.size.height}x${options.size.width}, ` +
            `width ${options.width}, ${result.parameters.toLocaleString('en')} parameters\n`,
        );
      },
    );
}
