// The command-line flags every command that reads a data source shares (train, eval, check-data),
// and their translation into DataSourceOptions, so the flags are spelled the same everywhere.

import type { Command } from 'commander';
import { DATA_OPTION_KEYS } from '../data/options.js';
import type { DataSourceOptions, ImageSize } from '../data/types.js';
import { integerOption, numberOption } from './parse.js';

export interface DataSourceCliFlags {
  dataSource?: string;
  dataDir?: string;
  kittiVoid?: string;
  classTable?: string;
  labelFormat?: string;
  validationFraction?: number;
  splitSeed?: number;
  numTraining?: number;
  numValidation?: number;
}

/** Adds --data-source, --data-dir and the source-specific flags (not --size / --seed: commands own those). */
export function addDataSourceFlags(command: Command, defaultSource?: string): Command {
  return command
    .option(
      '--data-source <name|path>',
      'kitti, cityscapes, synthetic-road, or the path to a data-source module (docs/data-sources.md)',
      defaultSource,
    )
    .option('--data-dir <dir>', 'data directory (KITTI data_road, Cityscapes root with leftImg8bit + gtFine)')
    .option('--kitti-void <mode>', 'KITTI black (unannotated) pixels: ignore | background (the original)')
    .option('--class-table <table>', 'Cityscapes classes: original29 (the original, default) | official19')
    .option('--label-format <format>', 'Cityscapes ground truth: auto | color | labelIds')
    .addOption(
      numberOption(
        '--validation-fraction <f>',
        'share held out for validation when the data set has no split (default 0.1)',
        { min: 0, max: 1, maxExclusive: true },
      ),
    )
    .addOption(integerOption('--split-seed <n>', 'seed of that held-out selection (default 0)', { min: 0 }))
    .addOption(
      integerOption('--num-training <n>', 'synthetic-road: training scenes (default 2000)', { min: 1 }),
    )
    .addOption(
      integerOption('--num-validation <n>', 'synthetic-road: held-out validation scenes (default 200)', {
        min: 1,
      }),
    );
}

/** The DataSourceOptions for the flags above, plus the command's own size and seed. */
export function dataSourceOptionsFromFlags(
  flags: DataSourceCliFlags,
  extra: { imageSize?: ImageSize; seed?: number } = {},
): DataSourceOptions {
  const options: DataSourceOptions = {};
  if (flags.dataDir !== undefined) options.dataDir = flags.dataDir;
  if (extra.imageSize) options.imageSize = extra.imageSize;
  if (extra.seed !== undefined) options.seed = extra.seed;
  // Strings are fine: the sources validate and convert each option under its own name.
  for (const key of DATA_OPTION_KEYS) if (flags[key] !== undefined) options[key] = flags[key];
  return options;
}
