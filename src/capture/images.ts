// Frames from still images: a folder (dir:///path) or a glob, decoded with sharp and resized to the
// capture size, played at the fps limit, looping when configured. Undecodable files are counted and skipped.

import { stat } from 'node:fs/promises';

import sharp from 'sharp';
import { glob } from 'tinyglobby';
import { errorMessage } from '../system/errors.js';
import { FrameSource, type FrameSourceOptions } from './types.js';

const MAX_INPUT_PIXELS = 8192 * 8192;
const IMAGE_PATTERN = '*.{png,jpg,jpeg,PNG,JPG,JPEG,webp,bmp}';

export class ImageFolderFrameSource extends FrameSource {
  private files: string[] = [];
  private index = 0;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private deliveredThisPass = 0;
  private readonly buffer: Uint8Array;

  constructor(
    label: string,
    private readonly pattern: string,
    options: FrameSourceOptions,
  ) {
    super(label, options);
    this.buffer = new Uint8Array(options.width * options.height * 3);
  }

  /** Starts playing; a folder that is missing or empty is looked at again with backoff (a mount may come later). */
  protected async begin(): Promise<void> {
    await this.scan();
  }

  private async scan(): Promise<void> {
    if (!this.running) return;
    const isDir = await stat(this.pattern).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const files = isDir
      ? await glob(IMAGE_PATTERN, { cwd: this.pattern, absolute: true })
      : await glob(this.pattern, { absolute: true });
    this.files = files.sort();
    this.index = 0;
    this.deliveredThisPass = 0;
    if (this.files.length > 0) {
      this.attempt = 0;
      this.schedule(0);
      return;
    }
    this.retryLater(`${this.label}: no images found (png, jpg, webp, bmp)`);
  }

  private retryLater(reason: string): void {
    const delayMs = this.backoffDelayMs(++this.attempt);
    this.setState('down', reason, Date.now() + delayMs);
    this.emit('error', new Error(reason));
    this.timer = setTimeout(() => void this.scan(), delayMs);
  }

  protected end(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => void this.next(), delayMs);
  }

  private async next(): Promise<void> {
    if (!this.running) return;
    if (this.index >= this.files.length) {
      if (this.deliveredThisPass === 0) {
        this.retryLater(`${this.label}: none of ${this.files.length} images could be decoded`);
        return;
      }
      if (!this.options.loop) return;
      // Look again at each pass: files come and go, and a folder emptied must show as down.
      await this.scan();
      return;
    }
    const file = this.files[this.index++]!;
    const started = Date.now();
    try {
      // A decompression bomb is refused before it is decoded.
      const { data } = await sharp(file, { limitInputPixels: MAX_INPUT_PIXELS })
        .removeAlpha()
        .resize(this.options.width, this.options.height, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      this.buffer.set(data);
      this.deliveredThisPass++;
      if (this.running)
        this.deliver({
          data: this.buffer,
          width: this.options.width,
          height: this.options.height,
          captureTimeMs: Date.now(),
        });
    } catch (error) {
      this.counters.badFrames++;
      this.emit('error', new Error(`${file}: cannot decode (${errorMessage(error)}); skipped`));
    }
    if (this.running) this.schedule(Math.max(0, 1000 / this.options.fps - (Date.now() - started)));
  }
}
