// `edgeseg check-data`: checks every label pixel of a data set, pairs and decodes every file,
// reports class frequencies and writes blended previews; exit code 0 only when all is valid.

import type { Command } from 'commander';
import { formatCheckReport } from '../data/check-report.js';
import { checkData } from '../data/checker.js';
import type { ImageSize } from '../data/types.js';
import { ConfigError } from '../system/errors.js';
import { checkOutputFolder } from '../system/fs.js';
import { createProgress } from '../system/progress.js';
import {
  addDataSourceFlags,
  type DataSourceCliFlags,
  dataSourceOptionsFromFlags,
} from './data-source-options.js';
import { integerOption, numberOption, sizeOption } from './parse.js';

interface CheckDataFlags extends DataSourceCliFlags {
  previews?: string;
  previewCount: number;
  alpha: number;
  limit?: number;
  size?: ImageSize;
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('check-data')
    .description(
      'check a data set: every label pixel maps to exactly one class, images and ground truth pair up, decode and agree in size; prints class frequencies',
    );
  addDataSourceFlags(command)
    .option('--previews <dir>', 'write blended previews (image with colour-coded labels) into this folder')
    .addOption(
      integerOption(
        '--preview-count <n>',
        'number of samples previewed (the first ones checked)',
        { min: 1 },
        20,
      ),
    )
    .addOption(numberOption('--alpha <a>', 'label opacity in the previews, 0-1', { min: 0, max: 1 }, 0.5))
    .addOption(integerOption('--limit <n>', 'check only the first N samples', { min: 1 }))
    .addOption(sizeOption('--size <HxW>', 'image size for sources that take one (plugins, synthetic-road)'))
    .option('--json', 'print the full report as JSON on stdout (no progress bar)')
    .action(async (flags: CheckDataFlags) => {
      if (!flags.dataSource)
        throw new ConfigError(
          '--data-source',
          'is required (kitti, cityscapes, synthetic-road or a module path)',
        );
      const sourceOptions = dataSourceOptionsFromFlags(flags, { imageSize: flags.size });
      if (flags.previews !== undefined) await checkOutputFolder(flags.previews, '--previews');
      let progress: ReturnType<typeof createProgress> | undefined;
      const report = await checkData(flags.dataSource, {
        sourceOptions,
        limit: flags.limit,
        previewsDir: flags.previews,
        previewCount: flags.previewCount,
        alpha: flags.alpha,
        onProgress(checked, total) {
          if (!progress)
            progress = createProgress('check-data', total, { enabled: !flags.json, unit: 'samples' });
          else if (checked > 0) progress.tick(1);
        },
      });
      progress?.stop();
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`${formatCheckReport(report)}\n`);
      process.exitCode = report.valid ? 0 : 1;
    });
}
