// `edgeseg model init`: write an untrained FCN-8s checkpoint.

import type { Command } from 'commander';
import { ENCODERS } from '../model/architecture.js';
import { parseEncoder } from '../model/encoder-weights.js';
import { initModel } from '../model/init.js';
import { describeTfBackend } from '../model/tf.js';
import { ConfigError } from '../system/errors.js';
import { integerOption, numberOption, sizeOption } from './parse.js';

const ENCODER_TITLES = { vgg16: 'VGG16', resnet18: 'ResNet18', mobilenetv3: 'MobileNetV3-Large' } as const;

export function register(program: Command): void {
  const model = program.command('model').description('create FCN-8s checkpoints');
  model
    .command('init')
    .description('write an untrained FCN-8s checkpoint (tfjs format)')
    .addOption(
      integerOption('--classes <n>', 'number of classes', { min: 2, max: 255 }).makeOptionMandatory(),
    )
    .addOption(
      sizeOption(
        '--size <HxW>',
        'input size, height x width, both divisible by 32 (e.g. 160x576)',
        32,
      ).makeOptionMandatory(),
    )
    .requiredOption('--out <dir>', 'checkpoint directory to write')
    .option(
      '--encoder <name>',
      `${ENCODERS.join(' | ')} (see docs/model.md for which suits which board)`,
      'vgg16',
    )
    .addOption(
      numberOption(
        '--width <w>',
        'channel width multiplier; 1 is the real network (VGG16 134M parameters, ResNet18 11M, MobileNetV3 3M)',
        { min: 0, minExclusive: true, max: 1 },
        1,
      ),
    )
    .option('--head <head>', 'fcn8s (paper cascade) or original (parallel x8/x16/x32)', 'fcn8s')
    .option(
      '--imagenet <file.onnx>',
      "ImageNet weights for the encoder: torchvision's vgg16 (or the ONNX model zoo's), resnet18 or " +
        'mobilenet_v3_large exported to ONNX; the model then takes RGB input with torchvision normalisation',
    )
    .option('--vgg16 <file.onnx>', 'the same as --encoder vgg16 --imagenet FILE')
    .addOption(integerOption('--seed <n>', 'seed for the initial weights', { min: 0 }, 1))
    .addHelpText(
      'after',
      `
Examples:
  edgeseg model init --classes 2 --size 160x576 --out ckpt/road                 full-size, random encoder
  edgeseg model init --classes 2 --size 160x576 --vgg16 vgg16.onnx --out ckpt/road   ImageNet encoder
  edgeseg model init --classes 2 --size 256x512 --encoder mobilenetv3 --imagenet mobilenet_v3_large.onnx --out ckpt/light
  edgeseg model init --classes 29 --size 256x512 --head original --out ckpt/city    the original's head
  edgeseg model init --classes 3 --size 64x96 --width 0.0625 --out ckpt/tiny        0.5M parameters

The checkpoint (model.json + weights-*.bin, tfjs weights-manifest format) feeds
\`edgeseg train --init DIR\` and \`edgeseg export DIR --out MODELDIR\`. See docs/model.md.`,
    )
    .action(
      async (options: {
        classes: number;
        size: { height: number; width: number };
        out: string;
        width: number;
        head: string;
        seed: number;
        encoder: string;
        imagenet?: string;
        vgg16?: string;
      }) => {
        const started = Date.now();
        if (options.vgg16 && (options.imagenet || options.encoder !== 'vgg16'))
          throw new ConfigError('--vgg16', 'is --encoder vgg16 --imagenet FILE; give one or the other');
        const encoder = parseEncoder(options.encoder);
        const imagenet = options.imagenet ?? options.vgg16;
        const result = await initModel({
          encoder,
          numClasses: options.classes,
          size: options.size,
          widthMultiplier: options.width,
          head: options.head,
          seed: options.seed,
          outDir: options.out,
          ...(imagenet ? { imagenet } : {}),
        });
        process.stderr.write(`${describeTfBackend(result.backend)}\n`);
        const { config } = result;
        const norm = config.normalization;
        const lines = [
          `wrote ${result.outDir}/model.json and weights in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          `  FCN-8s (${result.head} head) on ${ENCODER_TITLES[encoder]}, width ${config.widthMultiplier}: ${result.parameters.toLocaleString('en')} parameters (${((result.parameters * 4) / 1e6).toFixed(1)} MB)`,
          `  ${config.numClasses} classes, input ${config.height}x${config.width} ${config.inputChannelOrder} 0-255, ` +
            `normalised in the model as (${norm.scale === 1 ? 'x' : `x/${Math.round(1 / norm.scale)}`} - mean) / std (${norm.source})`,
          imagenet
            ? `  encoder from ${imagenet}: ${result.importedParameters.toLocaleString('en')} parameters`
            : `  encoder: He-normal random (seed ${options.seed}); pass --imagenet FILE.onnx for ImageNet weights`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );
}
