// Drives the daemon's FrameLoop for `edgeseg bench`. A saturated round offers a new raw frame the
// moment one is taken (a camera faster than the model: the most results per second the path gives);
// a camera round reads a capture subprocess at a camera's rate, as the daemon reads ffmpeg, and
// records the age of each result from the capture time the camera wrote into the frame.

import { performance } from 'node:perf_hooks';
import type { CaptureCommand } from '../capture/pipelines.js';
import { SubprocessFrameSource } from '../capture/subprocess.js';
import type { RgbFrame } from '../capture/types.js';
import type { FrameLoop, ProcessedFrame } from '../pipeline/frame-loop.js';
import { silentLogger } from '../system/log.js';
import { siblingModuleArgs } from '../system/sibling-module.js';

/** Per-frame stage times (ms) and totals over one or more rounds. */
export class LoopSamples {
  readonly preprocess: number[] = [];
  readonly inference: number[] = [];
  readonly handoff: number[] = [];
  readonly postprocess: number[] = [];
  frames = 0;
  seconds = 0;
  /** Process CPU time (all threads, user + system) spent during the rounds. */
  cpuMs = 0;

  add(processed: ProcessedFrame): void {
    const t = processed.result.timings;
    this.preprocess.push(t.preprocessMs);
    this.inference.push(t.inferenceMs);
    this.handoff.push(t.handoffMs);
    this.postprocess.push(t.postprocessMs);
  }
}

export interface CameraSamples extends LoopSamples {
  /** Capture → result ready, per result. */
  readonly age: number[];
  readonly queue: number[];
}

/** Runs `loop` until `until` resolves, collecting frame errors as a rejection. */
async function drive(loop: FrameLoop, until: Promise<void>): Promise<void> {
  let fail: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  loop.on('frameError', fail!);
  try {
    await Promise.race([until, failed]);
  } finally {
    loop.off('frameError', fail!);
  }
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * `count` results from the loop fed by a camera faster than the model: raw frames offered every
 * `intervalMs` (about half an inference), so a frame is always waiting when the engine frees even
 * when this thread is late; frames replaced before they were taken are the daemon's drops too.
 */
export async function saturatedRound(
  loop: FrameLoop,
  frames: readonly RgbFrame[],
  count: number,
  intervalMs: number,
  samples: LoopSamples,
): Promise<void> {
  let offered = 0;
  let processed = 0;
  const offerNext = () => {
    const frame = frames[offered++ % frames.length]!;
    loop.offer({ ...frame, captureTimeMs: Date.now() });
  };
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const onProcessed = (result: ProcessedFrame) => {
    samples.add(result);
    if (++processed === count) finished();
  };
  loop.on('processed', onProcessed);
  const cpu = process.cpuUsage();
  const started = performance.now();
  offerNext();
  const camera = setInterval(offerNext, intervalMs);
  try {
    await drive(loop, done);
  } finally {
    clearInterval(camera);
    loop.off('processed', onProcessed);
  }
  samples.seconds += (performance.now() - started) / 1000;
  samples.cpuMs += cpuMsSince(cpu);
  samples.frames += count;
  // Let the frame in flight out before the next round (its result is not counted).
  await loop.stop();
  loop.start();
}

/** The bench camera subprocess (bench/camera) read like any capture pipeline. */
class BenchCamera extends SubprocessFrameSource {
  constructor(
    size: { width: number; height: number },
    private readonly cameraFps: number,
  ) {
    // The spec is never used: command() runs the bench camera instead of a capture tool.
    super(
      'bench camera',
      { scheme: 'videotest' },
      {
        ...size,
        // The camera paces itself; the source's own limit must not drop its frames.
        fps: cameraFps * 4,
        loop: false,
        stallTimeoutMs: 60_000,
        backoff: { initialMs: 500, maxMs: 500 },
        backend: 'ffmpeg',
        logger: silentLogger,
      },
    );
  }

  protected override command(): CaptureCommand {
    const { width, height } = this.options;
    return {
      command: process.execPath,
      framing: 'ppm',
      args: [...siblingModuleArgs(import.meta.url, 'camera'), `${width}`, `${height}`, `${this.cameraFps}`],
    };
  }
}

/**
 * `results` results from a camera at `fps` (after two warm-up results), each with its age from the
 * capture time written into the frame by the camera process.
 */
export async function cameraRound(
  loop: FrameLoop,
  size: { width: number; height: number },
  fps: number,
  results: number,
): Promise<CameraSamples> {
  const samples = Object.assign(new LoopSamples(), { age: [] as number[], queue: [] as number[] });
  const camera = new BenchCamera(size, fps);
  camera.on('frame', (frame) => {
    const captureTimeMs = Buffer.from(frame.data.buffer, frame.data.byteOffset, 8).readDoubleLE(0);
    loop.offer({ ...frame, captureTimeMs });
  });
  const warmUp = 2;
  let seen = 0;
  let cpu = process.cpuUsage();
  let started = performance.now();
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const onProcessed = (result: ProcessedFrame) => {
    seen++;
    if (seen === warmUp) {
      cpu = process.cpuUsage();
      started = performance.now();
    }
    if (seen <= warmUp) return;
    samples.add(result);
    samples.age.push(Date.now() - result.frame.captureTimeMs);
    samples.queue.push(result.queueMs);
    if (seen === warmUp + results) finished();
  };
  loop.on('processed', onProcessed);
  try {
    await camera.start();
    await drive(loop, done);
  } finally {
    loop.off('processed', onProcessed);
    await camera.stop();
    // Drain the frame in flight so that the next round starts from an idle loop.
    await loop.stop();
    loop.start();
  }
  samples.seconds = (performance.now() - started) / 1000;
  samples.cpuMs = cpuMsSince(cpu);
  samples.frames = results;
  return samples;
}
