// `edgeseg eval`: a model on a data source's validation split; a table for people, JSON for machines.

import type { Command } from 'commander';
import type { ImageSize } from '../data/types.js';
import { evaluateModel } from '../jobs/evaluate.js';
import { UserError } from '../system/errors.js';
import {
  addDataSourceFlags,
  type DataSourceCliFlags,
  dataSourceOptionsFromFlags,
} from './data-source-options.js';
import { addEngineFlags, type EngineFlags, engineLabel, engineOptionsFrom } from './infer.js';
import { integerOption, sizeOption } from './parse.js';

interface EvalFlags extends EngineFlags, DataSourceCliFlags {
  model: string;
  json?: boolean;
  limit?: number;
  size?: ImageSize;
  verbose?: boolean;
}

function percent(value: number | null): string {
  return value === null ? '   n/a' : `${(value * 100).toFixed(2).padStart(6)}%`;
}

export function register(program: Command): void {
  const command = program
    .command('eval')
    .description(
      'evaluate a model on a data source: confusion matrix, pixel accuracy, per-class IoU, mIoU, KITTI MaxF',
    )
    .requiredOption('--model <dir>', 'model directory (model.onnx + manifest.json)')
    .addOption(sizeOption('--size <HxW>', "evaluate at this size (default: the model's input size)"))
    .addOption(integerOption('--limit <n>', 'evaluate at most n validation samples', { min: 1 }))
    .option('--json', 'print JSON (mIoU, pixelAccuracy, perClassIoU, confusion, maxF) instead of a table')
    .option('-v, --verbose', 'log engine details');
  addDataSourceFlags(command, 'synthetic-road');
  addEngineFlags(command).action(async (flags: EvalFlags) => {
    if (!flags.dataSource) throw new UserError('eval needs --data-source');
    const limit = flags.limit;
    const report = await evaluateModel({
      modelDir: flags.model,
      dataSource: flags.dataSource,
      dataSourceOptions: dataSourceOptionsFromFlags(flags, flags.size ? { imageSize: flags.size } : {}),
      engine: engineOptionsFrom(flags, flags.verbose),
      ...(limit !== undefined ? { limit } : {}),
      progress: !flags.json,
    });
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const out: string[] = [];
    out.push(
      `model ${report.model} on ${report.dataSource}: ${report.samples} images, ${report.pixels} labelled pixels (${engineLabel(report.engine)})`,
    );
    const recorded = Object.entries(report.fromTraining);
    if (recorded.length > 0)
      out.push(
        `held-out split as in training (from the manifest): ${recorded.map(([key, value]) => `${key} ${value}`).join(', ')}`,
      );
    out.push(`pixel accuracy ${percent(report.pixelAccuracy)}   mIoU ${percent(report.mIoU)}`);
    if (report.maxF)
      out.push(
        `MaxF (${report.maxF.positiveClass}) ${percent(report.maxF.maxF)} at threshold ${report.maxF.threshold.toFixed(3)} (precision ${percent(report.maxF.precision)}, recall ${percent(report.maxF.recall)})`,
      );
    const width = Math.max(5, ...report.classes.map((name) => name.length));
    out.push('', `${'class'.padEnd(width)}      IoU`);
    for (const name of report.classes)
      out.push(`${name.padEnd(width)}  ${percent(report.perClassIoU[name] ?? null)}`);
    out.push('', 'confusion (rows: truth, columns: predicted; pixels)');
    const cell = Math.max(8, ...report.confusion.flat().map((count) => String(count).length + 1));
    out.push(`${''.padEnd(width)}${report.classes.map((_, id) => String(id).padStart(cell)).join('')}`);
    report.confusion.forEach((row, id) => {
      out.push(
        `${`${id} ${report.classes[id]}`.padEnd(width + 2).slice(0, width)}${row.map((count) => String(count).padStart(cell)).join('')}`,
      );
    });
    process.stdout.write(`${out.join('\n')}\n`);
  });
}
