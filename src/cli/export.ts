// `edgeseg export`: checkpoint → model directory (model.onnx, manifest.json, tfjs/).

import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { exportModel } from '../export/export.js';
import { checkOutputFolder, folderFileBytes } from '../system/fs.js';

export function register(program: Command): void {
  program
    .command('export')
    .description('export a checkpoint to a model directory: model.onnx (opset 17), manifest.json and tfjs/')
    .argument('<checkpoint>', 'checkpoint directory (from model init or train)')
    .requiredOption('--out <modeldir>', 'model directory to write (replaced atomically if it exists)')
    .option('--name <name>', 'model name recorded in the manifest (default: the folder name)')
    .option('--description <text>', 'description recorded in the manifest')
    .addHelpText(
      'after',
      `
The ONNX graph takes image [1,3,H,W] float32 raw 0-255 pixels in the model's channel order
(normalisation is inside the graph) and returns logits [1,C,H,W]; manifest.json records the
input contract, classes, head and the sha256 of model.onnx. Works for the full-size model.

Example:
  edgeseg export ckpt/road --out models/road --name kitti-road`,
    )
    .action(async (checkpoint: string, options: { out: string; name?: string; description?: string }) => {
      const started = Date.now();
      // model.onnx and tfjs/ each hold about the checkpoint's weights; staged beside --out.
      await checkOutputFolder(
        dirname(resolve(options.out)),
        '--out',
        2 * (await folderFileBytes(checkpoint)),
      );
      const manifest = await exportModel(checkpoint, options.out, {
        ...(options.name ? { name: options.name } : {}),
        ...(options.description ? { description: options.description } : {}),
      });
      const { input, classes } = manifest;
      process.stdout.write(
        `wrote ${options.out}/model.onnx (input image [1,3,${input.height},${input.width}] ${input.channelOrder} 0-255, ` +
          `output logits [1,${classes.length},${input.height},${input.width}]), manifest.json, tfjs/ ` +
          `in ${((Date.now() - started) / 1000).toFixed(1)} s; sha256 ${manifest.files.onnxSha256}\n`,
      );
    });
}
