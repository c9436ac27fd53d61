// `edgeseg train` end to end: the options checked, backend, data source, class weights and the
// settings the run records, the loop (loop.ts), then the run's outputs (run-outputs.ts).

import { resolve } from 'node:path';
import { DATA_OPTION_KEYS, pickDataOptions } from '../data/options.js';
import { createDataSource, isBuiltInDataSource } from '../data/registry.js';
import type { DataSource, DataSourceOptions } from '../data/types.js';
import type { EncoderName } from '../model/architecture.js';
import { describeTfBackend, type TfBackendChoice } from '../model/tf.js';
import { ConfigError } from '../system/errors.js';
import { readLatestState, type TrainingState } from './checkpoints.js';
import { readClassWeights, uniformClassWeights } from './class-weights.js';
import { TRAINING_DEFAULTS } from './defaults.js';
import { createInitialModel } from './initial-model.js';
import { initTrainingTf } from './kernels/tf-training.js';
import { train } from './loop.js';
import { checkResumeSettings } from './resume-settings.js';
import { exportBestCheckpoint, writeTrainingReport } from './run-outputs.js';

export interface TrainingRunOptions {
  dataSource: string;
  dataSourceOptions: DataSourceOptions;
  runDir: string;
  epochs: number;
  batchSize: number;
  /** Images per forward/backward pass (gradient accumulation below batchSize); auto fits the backend's memory. */
  microBatchSize?: number | 'auto';
  /** Gradient workers besides the main thread (--train-workers); auto: cores − 1 on wasm/cpu, as memory allows. */
  trainWorkers?: number | 'auto';
  learningRate: number;
  learningRateSchedule: 'constant' | 'cosine';
  /** Dropout after fc6 and fc7 while training (the original: 0.5). */
  dropoutRate?: number;
  encoder?: EncoderName;
  widthMultiplier: number;
  head: 'fcn8s' | 'original';
  seed: number;
  classWeightsFile?: string;
  /** Start from this checkpoint's weights (e.g. one written by `edgeseg model init`). */
  initFrom?: string;
  /** VGG16 ONNX file for the encoder (torchvision layout); the model then takes RGB, torchvision-normalised. */
  /** ImageNet ONNX file for the encoder (--imagenet, or --vgg16 with the VGG16 encoder). */
  imagenetFile?: string;
  resume: boolean;
  /** Delete an earlier run in runDir and start over (otherwise such a folder is refused). */
  overwrite?: boolean;
  backend: TfBackendChoice;
  /** The command line, recorded in the manifest and the report. */
  command: string;
  signal?: AbortSignal;
  log: (line: string) => void;
  progress: boolean;
  /** Export the best checkpoint to RUNDIR/model at the end (default true). */
  exportBest?: boolean;
}

export interface TrainingRunResult {
  interrupted: boolean;
  epochs: number;
  bestMIoU: number | null;
  bestEpoch: number | null;
  modelDir: string | null;
  reportPath: string;
  backend: string;
  seconds: number;
}

export async function runTraining(options: TrainingRunOptions): Promise<TrainingRunResult> {
  const started = performance.now();
  checkRunOptions(options);
  // Read first: a missing or broken checkpoint fails before any slow set-up.
  const resumed = options.resume ? await readLatestState(options.runDir) : undefined;
  const backendInfo = await initTrainingTf(options.backend);
  options.log(describeTfBackend(backendInfo));
  const source = await createDataSource(options.dataSource, options.dataSourceOptions);
  options.log(
    `data: ${source.name}, ${source.numTraining} training / ${source.numValidation} validation images at ` +
      `${source.imageSize.height}x${source.imageSize.width}, ${source.numClasses} classes`,
  );
  const classWeights = await runClassWeights(options, source, resumed?.state);
  const dropoutRate = options.dropoutRate ?? TRAINING_DEFAULTS.dropoutRate;
  const settings = recordedSettings(options, source, classWeights, dropoutRate);
  if (resumed) {
    const note = checkResumeSettings(resumed.state.settings, settings);
    if (note) options.log(note);
  }
  const result = await train({
    source,
    runDir: options.runDir,
    createModel: () => createInitialModel(source, options),
    epochs: options.epochs,
    batchSize: options.batchSize,
    microBatchSize: typeof options.microBatchSize === 'number' ? options.microBatchSize : undefined,
    trainWorkers: options.trainWorkers ?? 'auto',
    learningRate: options.learningRate,
    learningRateSchedule: options.learningRateSchedule,
    dropoutRate,
    seed: options.seed,
    classWeights,
    resume: options.resume,
    overwrite: options.overwrite,
    signal: options.signal,
    log: options.log,
    progress: options.progress,
    settings,
  });

  const { state } = result;
  // What started the run (a resume's own command line is recorded next to it).
  const recordedCommand = state.settings.command;
  const finished = {
    runDir: options.runDir,
    source,
    state,
    previews: result.previews,
    backend: backendInfo.backend,
    command: typeof recordedCommand === 'string' ? recordedCommand : options.command,
    ...(resumed ? { resumedWith: options.command } : {}),
  };
  const modelDir =
    options.exportBest === false
      ? null
      : await exportBestCheckpoint(
          finished,
          {
            head: options.head,
            widthMultiplier: options.widthMultiplier,
            learningRate: options.learningRate,
            batchSize: options.batchSize,
            dropoutRate,
            dataSourceOptions: pickDataOptions(options.dataSourceOptions),
          },
          options.log,
        );
  const reportPath = await writeTrainingReport(finished);
  return {
    interrupted: result.interrupted,
    epochs: state.epoch,
    bestMIoU: state.best?.mIoU ?? null,
    bestEpoch: state.best?.epoch ?? null,
    modelDir,
    reportPath,
    backend: backendInfo.backend,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Refuses option values no run can use, naming the flag. */
function checkRunOptions(options: TrainingRunOptions): void {
  if (!Number.isInteger(options.epochs) || options.epochs < 1)
    throw new ConfigError('--epochs', 'must be a positive integer');
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new ConfigError('--batch-size', 'must be a positive integer');
  if (!(options.learningRate > 0)) throw new ConfigError('--lr', 'must be a positive number');
  if (!(options.widthMultiplier > 0)) throw new ConfigError('--width', 'must be a positive number');
  if (options.initFrom && options.imagenetFile)
    throw new ConfigError(
      '--imagenet',
      'cannot be combined with --init (the checkpoint already has its weights)',
    );
}

/** --class-weights when given, else the weights the resumed run recorded, else uniform. */
async function runClassWeights(
  options: TrainingRunOptions,
  source: DataSource,
  resumedState: TrainingState | undefined,
): Promise<Float32Array> {
  if (options.classWeightsFile) return readClassWeights(options.classWeightsFile, source.classes);
  const recorded = resumedState?.settings.classWeights;
  return Array.isArray(recorded) && recorded.length === source.numClasses
    ? Float32Array.from(recorded as number[])
    : uniformClassWeights(source.classes);
}

/** The settings recorded in every checkpoint: what --resume reuses and compares. */
function recordedSettings(
  options: TrainingRunOptions,
  source: DataSource,
  classWeights: Float32Array,
  dropoutRate: number,
): Record<string, unknown> {
  return {
    // A plugin module's path absolute, so that --resume finds it from any folder.
    dataSource: isBuiltInDataSource(options.dataSource) ? options.dataSource : resolve(options.dataSource),
    imageSize: source.imageSize,
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    learningRateSchedule: options.learningRateSchedule,
    dropoutRate,
    encoder: options.encoder ?? 'vgg16',
    widthMultiplier: options.widthMultiplier,
    head: options.head,
    seed: options.seed,
    classWeights: Array.from(classWeights),
    command: options.command,
    ...(options.initFrom ? { initFrom: options.initFrom } : {}),
    dataSourceOptions: {
      ...(typeof options.dataSourceOptions.dataDir === 'string'
        ? { dataDir: resolve(options.dataSourceOptions.dataDir) }
        : {}),
      ...pickDataOptions(options.dataSourceOptions, DATA_OPTION_KEYS),
    },
  };
}
