// A video file written frame by frame through an ffmpeg subprocess. The encoder writes to a hidden
// temporary name beside the target, renamed into place only when ffmpeg has finished cleanly, so an
// interrupted or failed run never leaves a file that looks complete; one left by a process that was
// killed outright is removed by the next writer of the same target.

import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { errorMessage, FileError, UserError } from '../system/errors.js';
import { isProcessAlive } from '../system/pid.js';
import { fileEncoderCommand, type RawVideoFormat, VIDEO_FILE_FORMATS } from './encoder-commands.js';
import { EncoderProcess } from './encoder-process.js';

/** True when `path` names a video file this writer can make (by its extension). */
export function isVideoFilePath(path: string): boolean {
  return Object.hasOwn(VIDEO_FILE_FORMATS, extname(path).toLowerCase());
}

/**
 * Refuses a target the finished video could never be renamed onto (an existing folder), before any
 * work: otherwise the whole video is encoded first and then fails with EISDIR.
 */
export async function checkVideoTarget(path: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory())
    throw new FileError(path, 'is a folder, so the video cannot be written under this name', {
      hint: 'give a new file name for the video (.mp4, .mov, .mkv), or an output folder without a video extension',
    });
}

/** Temporary files this process is writing now: a partial file of our PID not among them is stale. */
const partialsInProgress = new Set<string>();

function partialPrefix(target: string): string {
  return `.${basename(target)}.partial-`;
}

/** Removes the partial files of `target` left by processes that died (a second Ctrl-C, SIGKILL). */
async function removeStalePartials(target: string): Promise<void> {
  const folder = dirname(target);
  const prefix = partialPrefix(target);
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const owner = /^(\d+)-[0-9a-f]{8}$/.exec(name.slice(prefix.length));
    const path = join(folder, name);
    if (!owner || partialsInProgress.has(path)) continue;
    const pid = Number(owner[1]);
    // Our PID but not our file: an earlier process with the same PID (a container's PID 1).
    if (pid === process.pid || !isProcessAlive(pid)) await rm(path, { force: true }).catch(() => {});
  }
}

export class VideoFileWriter {
  private frames = 0;
  private settled = false;
  private aborting: Promise<void> | undefined;

  private constructor(
    readonly path: string,
    private readonly temporaryPath: string,
    private readonly encoder: EncoderProcess,
    private readonly format: RawVideoFormat,
  ) {}

  /** Starts ffmpeg on a temporary file beside `path` (.mp4, .mov or .mkv). */
  static async open(path: string, format: RawVideoFormat): Promise<VideoFileWriter> {
    const extension = extname(path).toLowerCase();
    const container = VIDEO_FILE_FORMATS[extension as keyof typeof VIDEO_FILE_FORMATS];
    if (!container)
      throw new UserError(
        `${path}: cannot write a video with extension "${extension}" (use ${Object.keys(VIDEO_FILE_FORMATS).join(', ')})`,
      );
    const target = resolve(path);
    await checkVideoTarget(target);
    await removeStalePartials(target);
    const temporaryPath = join(
      dirname(target),
      `${partialPrefix(target)}${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    partialsInProgress.add(temporaryPath);
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
      throw new FileError(this.path, `cannot move the finished video into place: ${errorMessage(error)}`);
    } finally {
      partialsInProgress.delete(this.temporaryPath);
    }
    return this.frames;
  }

  /**
   * Stops the encoder and removes the temporary file (after an error elsewhere, or on Ctrl-C).
   * Idempotent: a second call, even while the first is under way, resolves when the file is gone.
   */
  abort(): Promise<void> {
    if (this.aborting) return this.aborting;
    if (this.settled) return Promise.resolve();
    this.settled = true;
    this.aborting = (async () => {
      await this.encoder.stop();
      await rm(this.temporaryPath, { force: true });
      partialsInProgress.delete(this.temporaryPath);
    })();
    return this.aborting;
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
