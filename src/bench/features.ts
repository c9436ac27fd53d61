// `edgeseg bench --features`: what the segnet-style options and the video output cost per frame,
// on a model's real outputs for synthetic road scenes. Variants are timed A/B in alternating rounds
// (medians), so that a shared machine's load falls on both alike.

import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { renderSyntheticScene } from '../data/synthetic-road.js';
import { createEngine } from '../engine/create.js';
import type { RgbPixels } from '../engine/preprocess.js';
import type { EngineOptions } from '../engine/types.js';
import { rtpEncoderCommand } from '../output/encoder-commands.js';
import { EncoderProcess } from '../output/encoder-process.js';
import { FramePictures, type PictureOptions } from '../segment/frame-pictures.js';
import { type SegmentationResult, Segmenter } from '../segment/segmenter.js';

export interface FeatureCostOptions {
  modelDir: string;
  engine: EngineOptions;
  frameSizes: Array<{ height: number; width: number }>;
  /** Scenes per round (each a real model output). */
  scenes?: number;
  rounds?: number;
  /** Frames fed to the RTP encoder per size (0: skip the encoder). */
  encoderFrames?: number;
  onProgress?: (message: string) => void;
}

export interface AbResult {
  /** Median milliseconds per frame of each variant. */
  aMs: number;
  bMs: number;
  /** b − a. */
  costMs: number;
}

export interface FeatureCostRow {
  /** Frame size, HxW. */
  frame: string;
  /** Frame-size class mask: point (a) vs linear (b). */
  mask: AbResult;
  /** Overlay pixels: point (a) vs linear (b). */
  overlay: AbResult;
  /** Overlay pixels, point: no class ignored (a) vs one ignored (b). */
  ignoreClass: AbResult;
  /** The RTP encoder subprocess (ffmpeg, libx264 ultrafast): CPU ms per frame, and frames. */
  encoder?: { cpuMsPerFrame: number; frames: number };
}

export interface FeatureCostReport {
  model: string;
  scenes: number;
  rounds: number;
  rows: FeatureCostRow[];
}

/** A segmentation result whose buffers belong to it (the engine reuses its own). */
function keep(result: SegmentationResult): SegmentationResult {
  return {
    ...result,
    classMask: result.classMask.slice(),
    classFractions: result.classFractions.slice(),
    rawOutput: result.rawOutput.slice(),
    letterbox: { ...result.letterbox },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Times `a` and `b` over every scene, alternating which goes first, and returns the medians. */
function abTime(rounds: number, scenes: number, a: (i: number) => void, b: (i: number) => void): AbResult {
  const times = { a: [] as number[], b: [] as number[] };
  const run = (variant: 'a' | 'b') => {
    const fn = variant === 'a' ? a : b;
    const started = performance.now();
    for (let i = 0; i < scenes; i++) fn(i);
    times[variant].push((performance.now() - started) / scenes);
  };
  // A warm-up of each, untimed, so that neither pays for the JIT.
  for (let i = 0; i < scenes; i++) {
    a(i);
    b(i);
  }
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      run('a');
      run('b');
    } else {
      run('b');
      run('a');
    }
  }
  const aMs = median(times.a);
  const bMs = median(times.b);
  return { aMs, bMs, costMs: bMs - aMs };
}

/** utime + stime of a process in milliseconds (Linux). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Feeds overlay frames to an RTP encoder (sending to a discard port) and reads its CPU time. */
async function encoderCost(
  frames: RgbPixels[],
  count: number,
): Promise<{ cpuMsPerFrame: number; frames: number }> {
  const { width, height } = frames[0]!;
  const encoder = new EncoderProcess(
    rtpEncoderCommand(
      { host: '127.0.0.1', port: 9 },
      'ffmpeg',
      { width, height },
      { fps: 10, bitrateKbps: 1000 },
    ),
  );
  try {
    for (let i = 0; i < count; i++) await encoder.write(frames[i % frames.length]!.data);
    const pid = encoder.pid!;
    // Let it finish the frames it has, then read its time before it exits.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const spent = await cpuMs(pid);
    return { cpuMsPerFrame: spent / count, frames: count };
  } finally {
    await encoder.stop();
  }
}

export async function benchFeatures(options: FeatureCostOptions): Promise<FeatureCostReport> {
  const scenes = options.scenes ?? 8;
  const rounds = options.rounds ?? 15;
  const say = options.onProgress ?? (() => {});
  const engine = await createEngine(options.modelDir, options.engine);
  try {
    const segmenter = new Segmenter(engine);
    await segmenter.ready();
    const { manifest } = engine;
    const pictures = (overrides: Partial<PictureOptions>) =>
      new FramePictures(manifest.classes, manifest, {
        filterMode: 'point',
        ignoredClassIds: [],
        alpha: 0.5,
        ...overrides,
      });
    const rows: FeatureCostRow[] = [];
    for (const size of options.frameSizes) {
      const label = `${size.height}x${size.width}`;
      say(`segmenting ${scenes} synthetic scenes at ${label} (HxW)`);
      const frames: RgbPixels[] = [];
      const results: SegmentationResult[] = [];
      for (let i = 0; i < scenes; i++) {
        const frame = { data: renderSyntheticScene(9000 + i, size).image, ...size };
        frames.push(frame);
        results.push(keep(await segmenter.segment(frame)));
      }
      const point = pictures({});
      const linear = pictures({ filterMode: 'linear' });
      const ignoring = pictures({ ignoredClassIds: [0] });
      say(`timing ${label}: mask, overlay, ignored class (${rounds} alternating rounds)`);
      const row: FeatureCostRow = {
        frame: label,
        mask: abTime(
          rounds,
          scenes,
          (i) => point.mask(results[i]!, frames[i]!),
          (i) => linear.mask(results[i]!, frames[i]!),
        ),
        overlay: abTime(
          rounds,
          scenes,
          (i) => point.overlay(results[i]!, frames[i]!),
          (i) => linear.overlay(results[i]!, frames[i]!),
        ),
        ignoreClass: abTime(
          rounds,
          scenes,
          (i) => point.overlay(results[i]!, frames[i]!),
          (i) => ignoring.overlay(results[i]!, frames[i]!),
        ),
      };
      if ((options.encoderFrames ?? 0) > 0) {
        say(`feeding ${options.encoderFrames} overlay frames at ${label} to an RTP encoder`);
        const overlays = results.map((result, i) => ({
          ...frames[i]!,
          data: point.overlay(result, frames[i]!).slice(),
        }));
        row.encoder = await encoderCost(overlays, options.encoderFrames!);
      }
      rows.push(row);
    }
    return { model: manifest.name, scenes, rounds, rows };
  } finally {
    await engine.stop();
  }
}
