// `edgeseg infer`: segment image files, a directory, a glob or a video with a model directory.
// Also home of the engine flags that eval and bench share.

import { dirname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { parseProviders } from '../engine/create.js';
import type { EngineInfo, EngineOptions } from '../engine/types.js';
import { runInference } from '../jobs/infer-run.js';
import { isVideoFilePath } from '../output/video-file.js';
import { FILTER_MODES, type FilterMode } from '../segment/score-upsample.js';
import { UserError } from '../system/errors.js';
import { checkOutputFolder } from '../system/fs.js';
import { createLogger } from '../system/log.js';
import { onInterrupt } from '../system/signals.js';
import { integerOption, numberOption } from './parse.js';

export interface EngineFlags {
  runtime: EngineOptions['runtime'];
  provider: string;
  threads?: number;
  trtFp16?: boolean;
  engineCacheDir?: string;
  inferenceThread?: 'auto' | 'worker' | 'main';
  spinning?: 'on' | 'off';
  modelCacheDir?: string;
}

/** Adds --runtime, --provider, --threads, --spinning, --model-cache-dir, --trt-fp16, --engine-cache-dir, --inference-thread. */
export function addEngineFlags(command: Command): Command {
  return command
    .addOption(
      new Option('--runtime <runtime>', 'inference runtime (auto: onnxruntime, tfjs when it cannot load)')
        .choices(['auto', 'onnxruntime', 'tfjs'])
        .default('auto'),
    )
    .option('--provider <list>', 'onnxruntime execution providers to try in order', 'cpu')
    .addOption(
      integerOption('--threads <n>', 'onnxruntime intra-op threads (default: all cores)', {
        min: 1,
        max: 1024,
      }),
    )
    .addOption(
      new Option(
        '--spinning <on|off>',
        "onnxruntime's threads spin while waiting for work (on: its default, a little faster; off: less CPU)",
      ).choices(['on', 'off']),
    )
    .option(
      '--model-cache-dir <dir>',
      'keep the optimised model here; later starts skip the optimisation (CPU)',
    )
    .option('--trt-fp16', 'TensorRT: allow fp16 kernels')
    .option('--engine-cache-dir <dir>', 'TensorRT: engine cache folder (per model and version inside)')
    .addOption(
      new Option(
        '--inference-thread <where>',
        'where onnxruntime runs: main (infer and eval default), worker (the event loop stays free) or auto (worker for a model slower than 40 ms a run: the daemon and bench default)',
      ).choices(['auto', 'worker', 'main']),
    );
}

/** `onnxruntime/cpu`, with the int8 kernel family for int8 models: `onnxruntime/cpu, int8 kernels x86-no-vnni`. */
export function engineLabel(info: EngineInfo): string {
  return `${info.runtime}/${info.provider}${info.int8Kernels ? `, int8 kernels ${info.int8Kernels}` : ''}`;
}

export function engineOptionsFrom(flags: EngineFlags, verbose = false): EngineOptions {
  return {
    runtime: flags.runtime,
    executionProviders: parseProviders(flags.provider),
    ...(flags.threads !== undefined ? { intraOpThreads: flags.threads } : {}),
    ...(flags.inferenceThread ? { inferenceThread: flags.inferenceThread } : {}),
    ...(flags.spinning ? { allowSpinning: flags.spinning === 'on' } : {}),
    ...(flags.modelCacheDir ? { optimizedModelCacheDir: flags.modelCacheDir } : {}),
    tensorrt: {
      ...(flags.trtFp16 ? { fp16: true } : {}),
      ...(flags.engineCacheDir ? { engineCacheDir: flags.engineCacheDir } : {}),
    },
    logger: createLogger({ level: verbose ? 'info' : 'warn' }),
  };
}

interface InferFlags extends EngineFlags {
  model: string;
  input?: string;
  out?: string;
  samplesDir?: string;
  outputDir?: string;
  overlay?: boolean;
  mask?: boolean;
  stats?: boolean;
  alpha: number;
  overlayFormat: 'jpeg' | 'png';
  filterMode: FilterMode;
  ignoreClass: string[];
  progress: boolean;
  verbose?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('infer')
    .description(
      'segment images (file, directory, glob) or a video; writes overlays, class masks and JSON stats',
    )
    .requiredOption('--model <dir>', 'model directory (model.onnx + manifest.json)')
    .option('--input <path>', 'image file, directory, glob (quoted) or video file')
    .option('--out <path>', 'output directory, or a video file (.mp4, .mov, .mkv) for a video input')
    .option('--samples-dir <dir>', "the original's form: input directory (writes one blended PNG per image)")
    .option('--output-dir <dir>', "the original's form: output directory (same file names as the inputs)")
    .option('--overlay', 'write the frame blended with the class colours')
    .option('--mask', 'write the class mask as a paletted PNG (pixel value = class id)')
    .option('--stats', 'write a JSON per frame with class fractions and stage timings')
    .addOption(
      numberOption('--alpha <a>', 'overlay weight of the class colours, 0..1', { min: 0, max: 1 }, 0.5),
    )
    .addOption(
      new Option('--overlay-format <format>', 'overlay image format')
        .choices(['jpeg', 'png'])
        .default('jpeg'),
    )
    .addOption(
      new Option(
        '--filter-mode <mode>',
        'point: nearest-neighbour class mask; linear: class scores upsampled bilinearly before the argmax (smooth edges)',
      )
        .choices(FILTER_MODES)
        .default('point'),
    )
    .option(
      '--ignore-class <name>',
      'leave this class untinted in overlays and out of the fractions (repeatable)',
      (name: string, previous: string[]) => [...previous, name],
      [] as string[],
    )
    .option('--no-progress', 'no progress bar')
    .option('-v, --verbose', 'log engine details (provider, fallbacks)');
  addEngineFlags(command).action(async (flags: InferFlags) => {
    const sameNameOverlay = flags.samplesDir !== undefined || flags.outputDir !== undefined;
    const input = flags.input ?? flags.samplesDir;
    const outDir = flags.out ?? flags.outputDir;
    if (!input) throw new UserError('infer needs --input (or --samples-dir)');
    if (!outDir) throw new UserError('infer needs --out (or --output-dir)');
    const videoOut = flags.out !== undefined && isVideoFilePath(flags.out);
    if (videoOut && (flags.stats || (flags.overlay && flags.mask) || sameNameOverlay))
      throw new UserError(
        `--out ${flags.out} writes one video: of overlays (--overlay, the default) or of masks (--mask)`,
        {
          hint: 'for --stats or both pictures per frame give an output folder: --out DIR',
        },
      );
    // A read-only or missing folder is said now, not after the model has loaded and a frame is done.
    await checkOutputFolder(
      videoOut ? dirname(resolve(outDir)) : outDir,
      flags.out !== undefined ? '--out' : '--output-dir',
    );
    // No output flag at all: write everything (the simple form writes only the blended PNGs).
    const all = !flags.overlay && !flags.mask && !flags.stats && !sameNameOverlay;
    // Ctrl-C or SIGTERM: the run stops after the frame in hand and removes an unfinished video;
    // runMain then exits 130 or 143.
    const interruption = new AbortController();
    const stopListening = onInterrupt((signal) => interruption.abort(signal));
    const summary = await runInference({
      modelDir: flags.model,
      input,
      outDir,
      ...(videoOut
        ? { videoOut: { path: outDir, content: flags.mask ? ('mask' as const) : ('overlay' as const) } }
        : {}),
      overlay: all || flags.overlay === true,
      mask: all || flags.mask === true,
      stats: all || flags.stats === true,
      alpha: flags.alpha,
      overlayFormat: flags.overlayFormat,
      sameNameOverlay,
      filterMode: flags.filterMode,
      ignoreClasses: flags.ignoreClass,
      engine: engineOptionsFrom(flags, flags.verbose),
      progress: flags.progress,
      signal: interruption.signal,
    }).finally(stopListening);
    const t = summary.meanTimings;
    const fallback =
      summary.engine.fallbackReasons.length > 0
        ? ` (fell back: ${summary.engine.fallbackReasons.join('; ')})`
        : '';
    process.stdout.write(
      `${summary.frames} frames in ${summary.seconds.toFixed(2)} s (${summary.framesPerSecond.toFixed(2)} frames/s) on ${summary.engine.runtime}/${summary.engine.provider}${fallback}\n` +
        `mean per frame: decode ${t.decodeMs.toFixed(1)} ms, preprocess ${t.preprocessMs.toFixed(1)} ms, inference ${t.inferenceMs.toFixed(1)} ms, postprocess ${t.postprocessMs.toFixed(1)} ms, write ${t.writeMs.toFixed(1)} ms\n` +
        (summary.video
          ? `wrote ${summary.video.path}: ${summary.video.frames} frames at ${summary.video.frameRate.num}/${summary.video.frameRate.den} frames/s\n`
          : `outputs in ${summary.outDir}\n`),
    );
    if (summary.skipped.length > 0) {
      // A file error already starts with its path: say it once.
      for (const { file, reason } of summary.skipped)
        process.stderr.write(`skipped ${reason.startsWith(`${file}: `) ? reason : `${file}: ${reason}`}\n`);
      throw new UserError(
        `${summary.skipped.length} input${summary.skipped.length === 1 ? '' : 's'} could not be read (named above); the other results are in ${summary.outDir}`,
      );
    }
  });
}
