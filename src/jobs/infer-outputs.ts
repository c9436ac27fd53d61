// What `edgeseg infer` writes per segmented frame: image files (overlay, paletted class mask) in a
// folder, or one video file of overlays or colour masks, both drawn by FramePictures.

import { join } from 'node:path';
import sharp from 'sharp';
import type { RawVideoFormat } from '../output/encoder-commands.js';
import { VideoFileWriter } from '../output/video-file.js';
import type { FramePictures } from '../segment/frame-pictures.js';
import { encodeClassMaskPng } from '../segment/render.js';
import type { SegmentationResult } from '../segment/segmenter.js';
import { writeFileNamed } from '../system/fs.js';
import type { NamedFrame } from './inputs.js';

export interface ImageOutputOptions {
  outDir: string;
  overlay: boolean;
  mask: boolean;
  overlayFormat: 'jpeg' | 'png';
  /** The original's form: one blended PNG per input under its own name. */
  sameNameOverlay: boolean;
}

/** Writes the image files of one frame into the output folder; returns their paths. */
export async function writeImageOutputs(
  pictures: FramePictures,
  options: ImageOutputOptions,
  result: SegmentationResult,
  frame: NamedFrame,
): Promise<string[]> {
  const outputs: string[] = [];
  if (options.overlay || options.sameNameOverlay) {
    const png = options.sameNameOverlay || options.overlayFormat === 'png';
    const image = sharp(pictures.overlay(result, frame), {
      raw: { width: frame.width, height: frame.height, channels: 3 },
    });
    const bytes = png ? await image.png().toBuffer() : await image.jpeg({ quality: 85 }).toBuffer();
    const file = options.sameNameOverlay
      ? join(options.outDir, `${frame.name}.png`)
      : join(options.outDir, `${frame.name}.overlay.${png ? 'png' : 'jpg'}`);
    await writeFileNamed(file, bytes);
    outputs.push(file);
  }
  if (options.mask) {
    const mask = pictures.mask(result, frame);
    const file = join(options.outDir, `${frame.name}.mask.png`);
    await writeFileNamed(file, encodeClassMaskPng(mask, frame.width, frame.height, pictures.classes));
    outputs.push(file);
  }
  return outputs;
}

/** One video of overlays or colour masks, at the input's size and frame rate. */
export class VideoOutput {
  private constructor(
    private readonly writer: VideoFileWriter,
    private readonly content: 'overlay' | 'mask',
  ) {}

  static async open(path: string, content: 'overlay' | 'mask', format: RawVideoFormat): Promise<VideoOutput> {
    return new VideoOutput(await VideoFileWriter.open(path, format), content);
  }

  get path(): string {
    return this.writer.path;
  }

  async write(pictures: FramePictures, result: SegmentationResult, frame: NamedFrame): Promise<void> {
    await this.writer.write(
      this.content === 'mask' ? pictures.colourMask(result, frame) : pictures.overlay(result, frame),
    );
  }

  finish(): Promise<number> {
    return this.writer.finish();
  }

  abort(): Promise<void> {
    return this.writer.abort();
  }
}
