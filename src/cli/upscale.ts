// `edgeseg upscale`: the bilinear upsampling self-test on a picture (see src/model/upscale.ts).

import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { upscaleFile } from '../model/upscale.js';
import { checkOutputFolder } from '../system/fs.js';
import { integerOption } from './parse.js';

export function register(program: Command): void {
  program
    .command('upscale')
    .description(
      'push an image through the bilinear-initialised transposed convolution the FCN heads start with; ' +
        'the output is the same picture, factor times larger (borders fade: zero padding)',
    )
    .argument('<in>', 'input image (PNG, JPEG, WebP, ...)')
    .argument('<out>', 'output image; the format follows the extension')
    .addOption(
      integerOption(
        '--factor <f>',
        'upsampling factor, integer 2-32 (kernel 2f - f mod 2, stride f, as in FCN)',
        { min: 2, max: 32 },
        8,
      ),
    )
    .action(async (input: string, output: string, options: { factor: number }) => {
      const started = Date.now();
      await checkOutputFolder(dirname(resolve(output)), '<out>');
      const result = await upscaleFile(input, output, options.factor);
      process.stdout.write(
        `wrote ${output}: ${result.outHeight}x${result.outWidth} (HxW, ${result.channels} channels) from ` +
          `${result.inHeight}x${result.inWidth}, factor ${options.factor}, ${result.kernelSize}x${result.kernelSize} ` +
          `bilinear kernel, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    });
}
