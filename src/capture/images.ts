// Frames from still images: a folder (dir:///path) or a glob, decoded with sharp and resized to the
// capture size, played at the fps limit, looping when configured. Undecodable files are counted and skipped.

import { stat } from 'node:fs/promises';

import sharp from 'sharp';
import { glob } from 'tinyglobby';
import { UserError } from '../system/errors.js';
import { FrameSource, type FrameSourceOptions } from './types.js';

const IMAGE_PATTERN = '*.{png,jpg,jpeg,PNG,JPG,JPEG,webp,bmp}';

export class ImageFolderFrameSource extends FrameSource {
  private files: string[] = [];
  private index = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly buffer: Uint8Array;

  constructor(
    uri: string,
    private readonly pattern: string,
    options: FrameSourceOptions,
  ) {
    super(uri, options);
    this.buffer = new Uint8Array(options.width * options.height * 3);
  }

  async start(): Promise<void> {
    if (this.running) return;
    const isDir = await stat(this.pattern).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const files = isDir
      ? await glob(IMAGE_PATTERN, { cwd: this.pattern, absolute: true })
      : await glob(this.pattern, { absolute: true });
    this.files = files.sort();
    if (this.files.length === 0) throw new UserError(`${this.uri}: no images found (png, jpg, webp, bmp)`);
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.next(), delayMs);
  }

  private async next(): Promise<void> {
    if (!this.running) return;
    if (this.index >= this.files.length) {
      if (!this.options.loop) return;
      this.index = 0;
    }
    const file = this.files[this.index++]!;
    const started = Date.now();
    try {
      const { data } = await sharp(file)
        .removeAlpha()
        .resize(this.options.width, this.options.height, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      this.buffer.set(data);
      if (this.running)
        this.deliver({
          data: this.buffer,
          width: this.options.width,
          height: this.options.height,
          captureTimeMs: Date.now(),
        });
    } catch (error) {
      this.counters.badFrames++;
      this.emit('error', new Error(`${file}: cannot decode (${(error as Error).message}); skipped`));
    }
    if (this.running) this.schedule(Math.max(0, 1000 / this.options.fps - (Date.now() - started)));
  }
}

export function imageFolderPattern(uri: string): string {
  if (uri.startsWith('dir://')) return decodeURIComponent(new URL(uri).pathname);
  return uri;
}
