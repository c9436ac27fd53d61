// A video file written frame by frame through an ffmpeg subprocess. The encoder writes to a hidden
// temporary name beside the target, renamed into place only when ffmpeg has finished cleanly, so an
// interrupted or failed run never leaves a file that looks complete.

import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { FileError, UserError } from '../system/errors.js';
import { fileEncoderCommand, type RawVideoFormat, VIDEO_FILE_FORMATS } from './encoder-commands.js';
import { EncoderProcess } from './encoder-process.js';

/** True when `path` names a video file this writer can make (by its extension). */
export function isVideoFilePath(path: string): boolean {
  return Object.hasOwn(VIDEO_FILE_FORMATS, extname(path).toLowerCase());
}

export class VideoFileWriter {
  private frames = 0;
  private settled = false;

  private constructor(
    readonly path: string,
    private readonly temporaryPath: string,
    private readonly encoder: EncoderProcess,
    private readonly format: RawVideoFormat,
  ) {}

  /** Starts ffmpeg on a temporary file beside `path` (.mp4, .mov or .mkv). */
  static open(path: string, format: RawVideoFormat): VideoFileWriter {
    const extension = extname(path).toLowerCase();
    const container = VIDEO_FILE_FORMATS[extension as keyof typeof VIDEO_FILE_FORMATS];
    if (!container)
      throw new UserError(
        `${path}: cannot write a video with extension "${extension}" (use ${Object.keys(VIDEO_FILE_FORMATS).join(', ')})`,
      );
    const target = resolve(path);
    const temporaryPath = join(
      dirname(target),
      `.${basename(target)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    const encoder = new EncoderProcess(fileEncoderCommand(temporaryPath, container, format));
    return new VideoFileWriter(target, temporaryPath, encoder, format);
  }

  /** Appends one rgb24 frame of the writer's size; resolves when ffmpeg has taken it. */
  async write(rgb: Uint8Array): Promise<void> {
    const { width, height } = this.format;
    if (rgb.length !== width * height * 3)
      throw new RangeError(
        `frame has ${rgb.length} bytes, expected ${width * height * 3} (${height}x${width}, HxW)`,
      );
    try {
      await this.encoder.write(rgb);
    } catch {
      throw await this.failure();
    }
    this.frames++;
  }

  /** Finishes the file and moves it into place; returns the frame count. */
  async finish(): Promise<number> {
    if (this.settled) throw new Error('VideoFileWriter: finish() after the writer was settled');
    const exit = await this.encoder.end();
    if (exit.code !== 0 || exit.spawnError) throw await this.failure();
    this.settled = true;
    try {
      await rename(this.temporaryPath, this.path);
    } catch (error) {
      await rm(this.temporaryPath, { force: true });
      throw new FileError(
        this.path,
        `cannot move the finished video into place: ${(error as Error).message}`,
      );
    }
    return this.frames;
  }

  /** Stops the encoder and removes the temporary file (after an error elsewhere). Idempotent. */
  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.encoder.stop();
    await rm(this.temporaryPath, { force: true });
  }

  private async failure(): Promise<Error> {
    // A refused write means the encoder is going: give it a moment to exit with its own reason.
    const exited = await Promise.race([
      this.encoder.exited,
      new Promise<undefined>((resolveLater) => setTimeout(() => resolveLater(undefined), 2000).unref()),
    ]);
    await this.abort();
    const exit = exited ?? (await this.encoder.exited);
    return new FileError(this.path, `the video encoder failed: ${this.encoder.describeExit(exit)}`, {
      hint: exit.spawnError
        ? 'install ffmpeg (apt-get install ffmpeg) to write videos'
        : 'check that the folder is writable and has space; nothing was written under this name',
    });
  }
}
