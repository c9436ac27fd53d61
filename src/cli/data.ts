// `edgeseg data export`: synthetic road scenes as a KITTI Road or Cityscapes tree on disk.

import { type Command, Option } from 'commander';
import { exportTree, TREE_DEFAULT_SIZES, TREE_FORMATS, type TreeFormat } from '../data/export-tree.js';
import type { ImageSize } from '../data/types.js';
import { checkOutputFolder } from '../system/fs.js';
import { createProgress } from '../system/progress.js';
import { integerOption, sizeOption } from './parse.js';

interface ExportFlags {
  format: TreeFormat;
  out: string;
  count: number;
  size?: ImageSize;
  seed: number;
  progress: boolean;
}

export function register(program: Command): void {
  const data = program.command('data').description('data sets: write synthetic scenes in a real layout');
  data
    .command('export')
    .description(
      'write synthetic road scenes as a KITTI Road or Cityscapes tree, to try check-data, train and eval',
    )
    .addOption(
      new Option('--format <format>', 'folder layout and label colours')
        .choices(TREE_FORMATS)
        .default('kitti'),
    )
    .requiredOption('--out <dir>', 'folder to write the tree into')
    .addOption(
      integerOption(
        '--count <n>',
        'scenes to write (Cityscapes: every fifth in val)',
        { min: 1, max: 100_000 },
        20,
      ),
    )
    .addOption(sizeOption('--size <HxW>', 'image size (default 160x576 for kitti, 256x512 for cityscapes)'))
    .addOption(
      integerOption('--seed <n>', 'scene seed (the same seed gives the same pictures)', { min: 0 }, 0),
    )
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      `
Examples:
  edgeseg data export --format kitti --out data/kitti-synthetic
  edgeseg check-data --data-source kitti --data-dir data/kitti-synthetic/data_road
  edgeseg data export --format cityscapes --out data/city-synthetic --count 50
  edgeseg check-data --data-source cityscapes --data-dir data/city-synthetic`,
    )
    .action(async (flags: ExportFlags) => {
      const started = Date.now();
      await checkOutputFolder(flags.out, '--out');
      const progress = createProgress('data export', flags.count, {
        enabled: flags.progress,
        unit: 'scenes',
      });
      const result = await exportTree({
        format: flags.format,
        outDir: flags.out,
        count: flags.count,
        size: flags.size ?? TREE_DEFAULT_SIZES[flags.format],
        seed: flags.seed,
        onScene: () => progress.tick(1),
      });
      progress.stop();
      process.stdout.write(
        `wrote ${result.images} ${flags.format} scenes in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
          `use --data-source ${flags.format} --data-dir ${result.dataDir}\n`,
      );
    });
}
