// Offline inputs for `edgeseg infer`: a file, a directory, a glob of images, or a video decoded by
// an ffmpeg subprocess into raw rgb24 frames on a pipe.

import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { glob } from 'tinyglobby';
import type { RgbFrame } from '../capture/types.js';
import { decodeImageFile } from '../engine/preprocess.js';
import { errorMessage, FileError, UserError } from '../system/errors.js';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff', '.gif']);
export const VIDEO_EXTENSIONS = new Set([
  '.mp4',
  '.mkv',
  '.avi',
  '.mov',
  '.webm',
  '.m4v',
  '.mpg',
  '.mpeg',
  '.h264',
  '.ts',
]);

export type InferInput = { kind: 'images'; files: string[] } | { kind: 'video'; file: string };

/** A frame with the name its outputs are written under and what decoding it cost. */
export interface NamedFrame extends RgbFrame {
  name: string;
  source: string;
  decodeMs: number;
}

/** Resolves `--input`: an image or video file, a directory of images, or a glob. */
export async function resolveInput(spec: string): Promise<InferInput> {
  const info = await stat(spec).catch(() => undefined);
  if (info?.isDirectory()) {
    const files = (await readdir(spec))
      .filter((name) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase()))
      .sort()
      .map((name) => join(spec, name));
    if (files.length === 0)
      throw new FileError(spec, 'no image files (png, jpg, webp, bmp, tif) in this directory');
    return { kind: 'images', files };
  }
  if (info?.isFile()) {
    if (VIDEO_EXTENSIONS.has(extname(spec).toLowerCase())) return { kind: 'video', file: spec };
    return { kind: 'images', files: [spec] };
  }
  const files = (await glob(spec, { absolute: true, onlyFiles: true }))
    .filter((name) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase()))
    .sort();
  if (files.length === 0)
    throw new UserError(`--input ${spec}: no such file or directory, and no image matches it as a glob`, {
      hint: 'quote globs so the shell does not expand them, e.g. --input "data/**/*.png"',
    });
  return { kind: 'images', files };
}

function stemOf(path: string): string {
  return basename(path, extname(path));
}

/** Decodes image files one by one (sharp decodes off the JS thread), naming each by its file stem. */
/** An input that could not be read, and why (infer goes on with the others). */
export interface SkippedInput {
  file: string;
  reason: string;
}

/**
 * Decodes each file in turn. A file that cannot be decoded is passed to `onSkip` and left out when
 * `onSkip` is given (one bad file must not cost the results of the others); otherwise it throws.
 */
export async function* imageFrames(
  files: readonly string[],
  onSkip?: (skipped: SkippedInput) => void,
): AsyncGenerator<NamedFrame> {
  const used = new Set<string>();
  for (const file of files) {
    const started = performance.now();
    let frame: Awaited<ReturnType<typeof decodeImageFile>>;
    try {
      frame = await decodeImageFile(file);
    } catch (error) {
      if (!onSkip) throw error;
      onSkip({ file, reason: errorMessage(error) });
      continue;
    }
    let name = stemOf(file);
    // Two inputs with one stem (a.png, a.jpg) must not overwrite each other's outputs.
    if (used.has(name)) name = basename(file).replace(/\./g, '_');
    used.add(name);
    yield { ...frame, name, source: file, decodeMs: performance.now() - started };
  }
}

export interface VideoInfo {
  width: number;
  height: number;
  frames: number | undefined;
  /** The stream's frame rate (average, else nominal), when the container says. */
  frameRate: { num: number; den: number } | undefined;
}

/** "30000/1001" → { num, den }; undefined for "0/0" or anything else. */
function parseFrameRate(text: unknown): VideoInfo['frameRate'] {
  const match = typeof text === 'string' ? /^(\d+)\/(\d+)$/.exec(text) : null;
  if (!match) return undefined;
  const num = Number(match[1]);
  const den = Number(match[2]);
  return num > 0 && den > 0 ? { num, den } : undefined;
}

function runToString(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

export async function probeVideo(file: string): Promise<VideoInfo> {
  let result: Awaited<ReturnType<typeof runToString>>;
  try {
    result = await runToString('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-count_packets',
      '-show_entries',
      'stream=width,height,nb_read_packets,avg_frame_rate,r_frame_rate',
      '-of',
      'json',
      file,
    ]);
  } catch (error) {
    throw new UserError(`cannot run ffprobe to read ${file}: ${errorMessage(error)}`, {
      hint: 'install ffmpeg (apt-get install ffmpeg) to use video input',
    });
  }
  const stream = result.code === 0 ? JSON.parse(result.stdout).streams?.[0] : undefined;
  if (!stream?.width || !stream?.height)
    throw new FileError(file, `not a readable video: ${result.stderr.trim() || 'no video stream'}`);
  const frames = Number.parseInt(stream.nb_read_packets, 10);
  return {
    width: stream.width,
    height: stream.height,
    frames: Number.isFinite(frames) ? frames : undefined,
    frameRate: parseFrameRate(stream.avg_frame_rate) ?? parseFrameRate(stream.r_frame_rate),
  };
}

/**
 * Decodes a video with ffmpeg to rgb24 on a pipe. Frames rotate through three buffers: the
 * segmenter holds at most two (one in inference, one being written out) at any time.
 */
export async function* videoFrames(file: string, info?: VideoInfo): AsyncGenerator<NamedFrame> {
  const { width, height } = info ?? (await probeVideo(file));
  const frameBytes = width * height * 3;
  const buffers = [0, 1, 2].map(() => new Uint8Array(frameBytes));
  const child = spawn(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-i', resolve(file), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolveExit) => child.on('close', resolveExit));
  const stem = stemOf(file);
  let index = 0;
  let filled = 0;
  let started = performance.now();
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const buffer = buffers[index % 3]!;
        const take = Math.min(frameBytes - filled, chunk.length - offset);
        buffer.set(chunk.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === frameBytes) {
          index++;
          filled = 0;
          const name = `${stem}_${String(index).padStart(6, '0')}`;
          yield {
            data: buffer,
            width,
            height,
            captureTimeMs: Date.now(),
            name,
            source: file,
            decodeMs: performance.now() - started,
          };
          started = performance.now();
        }
      }
    }
    const code = await exited;
    if (code !== 0) throw new FileError(file, `ffmpeg failed (exit ${code}): ${stderr.trim()}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}
