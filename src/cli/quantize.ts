// `edgeseg quantize`: a float model directory → an int8 (static QDQ) model directory, calibrated on a
// data source and checked against the float model on its held-out split.

import { stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { type QuantizeReport, quantizeModel } from '../quantize/quantize.js';
import { DEFAULT_PERCENTILE } from '../quantize/ranges.js';
import { checkOutputFolder } from '../system/fs.js';
import {
  addDataSourceFlags,
  type DataSourceCliFlags,
  dataSourceOptionsFromFlags,
} from './data-source-options.js';
import { integerOption, numberOption } from './parse.js';

interface QuantizeFlags extends DataSourceCliFlags {
  out: string;
  overwrite?: boolean;
  name?: string;
  calibrationImages: number;
  seed: number;
  method: 'auto' | 'minmax' | 'percentile' | 'entropy';
  percentile?: number;
  activations: 'uint8' | 'int8';
  weightBits: string;
  floatLayers: string;
  maxDrop: number;
  evalImages?: number;
  sensitivity?: boolean;
  threads?: number;
  json?: boolean;
  progress: boolean;
}

const points = (value: number) => (value * 100).toFixed(2);

function floatLayersFrom(text: string): 'auto' | string[] {
  const value = text.trim();
  if (value === 'auto') return 'auto';
  if (value === 'none') return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

export function formatQuantizeReport(report: QuantizeReport): string {
  const q = report.quantization;
  const lines = [
    `wrote ${report.outDir}/model.onnx (${(report.int8Bytes / 1e6).toFixed(2)} MB, fp32 ${(report.fp32Bytes / 1e6).toFixed(2)} MB) and manifest.json in ${report.seconds.toFixed(1)} s`,
    `calibration: ${q.calibration.images} training images of ${q.calibration.dataSource} (seed ${q.calibration.seed}), ${q.activations} activations, ${q.weightBits}-bit weights`,
    ...q.methods.map(
      (m) =>
        `  ${m.method.padEnd(10)} held-out mIoU ${points(m.mIoU)}${m.method === q.calibration.method ? '  <- chosen' : ''}`,
    ),
    `held-out mIoU on ${q.accuracy.samples} images of ${q.accuracy.dataSource}: fp32 ${points(q.accuracy.fp32MIoU)}, int8 ${points(q.accuracy.int8MIoU)} (${points(q.accuracy.int8MIoU - q.accuracy.fp32MIoU)} points) on ${q.accuracy.int8Kernels?.join(', ') ?? 'unrecorded'} int8 kernels`,
    `int8 layers (${q.quantizedLayers.length}): ${q.quantizedLayers.join(', ')}`,
    'float layers:',
    ...q.floatLayers.map((f) => `  ${f.layer}: ${f.reason}`),
  ];
  if (q.layerSensitivity) {
    lines.push('held-out mIoU with one layer in float (all others int8):');
    for (const entry of q.layerSensitivity) lines.push(`  ${entry.layer.padEnd(16)} ${points(entry.mIoU)}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  const command = program
    .command('quantize')
    .description('quantize a model directory to int8 (static QDQ), calibrated on a data source')
    .argument('<modeldir>', 'float model directory (model.onnx + manifest.json, e.g. from export)')
    .requiredOption('--out <modeldir>', 'int8 model directory to write')
    .option('--overwrite', 'replace --out if it exists')
    .option('--name <name>', 'model name recorded in the manifest (default: the folder name)')
    .addOption(
      integerOption(
        '--calibration-images <n>',
        'training images whose activation ranges calibrate the model',
        { min: 1 },
        100,
      ),
    )
    .addOption(integerOption('--seed <n>', 'shuffle seed choosing the calibration images', { min: 0 }, 0))
    .addOption(
      new Option('--method <method>', 'activation range calibration; auto tries all three, keeps the best')
        .choices(['auto', 'minmax', 'percentile', 'entropy'])
        .default('auto'),
    )
    .addOption(
      numberOption(
        '--percentile <p>',
        `share of values the percentile method keeps in range, 50-100 (default ${DEFAULT_PERCENTILE})`,
        { min: 50, max: 100 },
      ),
    )
    .addOption(
      new Option(
        '--activations <type>',
        'uint8: onnxruntime CPU (x86 and ARM); int8: symmetric, for TensorRT',
      )
        .choices(['uint8', 'int8'])
        .default('uint8'),
    )
    .addOption(
      new Option(
        '--weight-bits <bits>',
        '7: exact on every CPU (x86 without VNNI saturates 8-bit weights); 8: full range',
      )
        .choices(['7', '8'])
        .default('7'),
    )
    .option(
      '--float-layers <list>',
      'auto (by measured accuracy), none, or a comma-separated list of layer names kept in float',
      'auto',
    )
    .addOption(
      numberOption(
        '--max-drop <miou>',
        'with --float-layers auto: largest held-out mIoU drop accepted before layers go back to float',
        { min: 0, max: 1 },
        0.01,
      ),
    )
    .addOption(
      integerOption('--eval-images <n>', 'held-out images per accuracy measurement (default: all)', {
        min: 1,
      }),
    )
    .option('--sensitivity', "measure every layer's accuracy cost (one evaluation per layer)")
    .addOption(
      integerOption('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', {
        min: 1,
        max: 1024,
      }),
    )
    .option('--json', 'print the manifest quantization record as JSON')
    .option('--no-progress', 'no progress bar');
  addDataSourceFlags(command)
    .addHelpText(
      'after',
      `
Weights become int8 per output channel (symmetric, 7 significant bits unless --weight-bits 8), activations 8-bit per tensor with ranges from
--calibration-images training images; each candidate is measured on the held-out split the model
was trained with (as \`edgeseg eval\`). ConvTranspose upsampling stays float. The data source
defaults to the one the model was trained on. See docs/inference.md (int8).

Example:
  edgeseg quantize models/synthetic-road-fcn8s --out models/synthetic-road-fcn8s-int8 \\
    --data-source synthetic-road --calibration-images 100`,
    )
    .action(async (modelDir: string, flags: QuantizeFlags) => {
      const { percentile, evalImages, threads } = flags;
      // Before calibration and the accuracy runs: the int8 model (about a quarter of the float one)
      // must fit beside --out.
      const floatBytes = await stat(join(modelDir, 'model.onnx')).then(
        (file) => file.size,
        () => 0,
      );
      await checkOutputFolder(dirname(resolve(flags.out)), '--out', Math.ceil(floatBytes / 4));
      const report = await quantizeModel({
        modelDir,
        outDir: flags.out,
        overwrite: flags.overwrite === true,
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.dataSource ? { dataSource: flags.dataSource } : {}),
        dataSourceOptions: dataSourceOptionsFromFlags(flags),
        calibrationImages: flags.calibrationImages,
        seed: flags.seed,
        method: flags.method,
        ...(percentile !== undefined ? { percentile } : {}),
        activations: flags.activations,
        weightBits: flags.weightBits === '8' ? 8 : 7,
        floatLayers: floatLayersFrom(flags.floatLayers),
        maxDrop: flags.maxDrop,
        ...(evalImages !== undefined ? { evalImages } : {}),
        sensitivity: flags.sensitivity === true,
        ...(threads !== undefined ? { intraOpThreads: threads } : {}),
        command: ['edgeseg', ...process.argv.slice(2)].join(' '),
        progress: flags.progress && !flags.json,
        onStep: (message) => process.stderr.write(`quantize: ${message}\n`),
      });
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(report.quantization, null, 2)}\n`
          : `${formatQuantizeReport(report)}\n`,
      );
    });
}
