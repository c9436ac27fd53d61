// `edgeseg train` end to end: backend, data source, class weights, the loop, then the best checkpoint
// exported to RUNDIR/model and the HTML report written to RUNDIR/report.html.

import { join, resolve } from 'node:path';
import { DATA_OPTION_KEYS, pickDataOptions } from '../data/options.js';
import { createDataSource, isBuiltInDataSource } from '../data/registry.js';
import type { DataSourceOptions } from '../data/types.js';
import { exportModel } from '../export/export.js';
import { CAFFE_VGG_NORMALIZATION, type FcnConfig, TORCHVISION_NORMALIZATION } from '../model/architecture.js';
import { loadModel } from '../model/checkpoint.js';
import { createFcn8s, DEFAULT_DROPOUT_RATE } from '../model/fcn8s.js';
import type { ClassInfo, ModelManifest } from '../model/manifest.js';
import { describeTfBackend, type TfBackendChoice } from '../model/tf.js';
import { importVgg16Onnx } from '../model/vgg16-import.js';
import { ConfigError, FileError } from '../system/errors.js';
import { writeFileAtomic } from '../system/fs.js';
import { edgesegVersion } from '../system/version.js';
import { checkpointDir, readBestPointer, readLatestPointer, readLatestState } from './checkpoints.js';
import { readClassWeights, uniformClassWeights } from './class-weights.js';
import { train } from './loop.js';
import { renderTrainingReport } from './report-html.js';
import { checkResumeSettings } from './resume-settings.js';
import { initTrainingTf } from './tf-training.js';

export interface TrainingRunOptions {
  dataSource: string;
  dataSourceOptions: DataSourceOptions;
  runDir: string;
  epochs: number;
  batchSize: number;
  learningRate: number;
  learningRateSchedule: 'constant' | 'cosine';
  /** Dropout after fc6 and fc7 while training (the original: 0.5). */
  dropoutRate?: number;
  widthMultiplier: number;
  head: 'fcn8s' | 'original';
  seed: number;
  classWeightsFile?: string;
  /** Start from this checkpoint's weights (e.g. one written by `edgeseg model init`). */
  initFrom?: string;
  /** VGG16 ONNX file for the encoder (torchvision layout); the model then takes RGB, torchvision-normalised. */
  vgg16File?: string;
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
  if (!Number.isInteger(options.epochs) || options.epochs < 1)
    throw new ConfigError('--epochs', 'must be a positive integer');
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1)
    throw new ConfigError('--batch-size', 'must be a positive integer');
  if (!(options.learningRate > 0)) throw new ConfigError('--lr', 'must be a positive number');
  if (!(options.widthMultiplier > 0)) throw new ConfigError('--width', 'must be a positive number');
  if (options.initFrom && options.vgg16File)
    throw new ConfigError(
      '--vgg16',
      'cannot be combined with --init (the checkpoint already has its weights)',
    );

  // Read first: a missing or broken checkpoint fails before any slow set-up.
  const resumed = options.resume ? await readLatestState(options.runDir) : undefined;
  const backendInfo = await initTrainingTf(options.backend);
  options.log(describeTfBackend(backendInfo));
  const source = await createDataSource(options.dataSource, options.dataSourceOptions);
  options.log(
    `data: ${source.name}, ${source.numTraining} training / ${source.numValidation} validation images at ` +
      `${source.imageSize.height}x${source.imageSize.width}, ${source.numClasses} classes`,
  );
  const recordedWeights = resumed?.state.settings.classWeights;
  const classWeights = options.classWeightsFile
    ? await readClassWeights(options.classWeightsFile, source.classes)
    : Array.isArray(recordedWeights) && recordedWeights.length === source.numClasses
      ? Float32Array.from(recordedWeights as number[])
      : uniformClassWeights(source.classes);

  const dropoutRate = options.dropoutRate ?? DEFAULT_DROPOUT_RATE;
  const settings = {
    // A plugin module's path absolute, so that --resume finds it from any folder.
    dataSource: isBuiltInDataSource(options.dataSource) ? options.dataSource : resolve(options.dataSource),
    imageSize: source.imageSize,
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    learningRateSchedule: options.learningRateSchedule,
    dropoutRate,
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
  if (resumed) {
    const note = checkResumeSettings(resumed.state.settings, settings);
    if (note) options.log(note);
  }
  const result = await train({
    source,
    runDir: options.runDir,
    createModel: async () => {
      const config: FcnConfig = {
        inputChannelOrder: 'BGR',
        normalization: CAFFE_VGG_NORMALIZATION,
        numClasses: source.numClasses,
        height: source.imageSize.height,
        width: source.imageSize.width,
        widthMultiplier: options.widthMultiplier,
        head: options.head,
      };
      if (options.initFrom) return await initialModelFrom(options.initFrom, config, source.classes);
      if (!options.vgg16File)
        return createFcn8s(config, { seed: options.seed, classes: [...source.classes] });
      // Imported VGG16 weights expect their own preprocessing (torchvision: RGB, /255, mean/std).
      const vggConfig: FcnConfig = {
        ...config,
        inputChannelOrder: 'RGB',
        normalization: TORCHVISION_NORMALIZATION,
      };
      const imported = await importVgg16Onnx(options.vgg16File, vggConfig);
      options.log(`encoder initialised from ${options.vgg16File} (${imported.weights.size} tensors)`);
      return createFcn8s(vggConfig, {
        seed: options.seed,
        classes: [...source.classes],
        weights: imported.weights,
      });
    },
    epochs: options.epochs,
    batchSize: options.batchSize,
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
  const { command: recordedCommand, initFrom } = state.settings;
  const command = typeof recordedCommand === 'string' ? recordedCommand : options.command;
  const heldOut = pickDataOptions(options.dataSourceOptions);
  const best = state.best;
  const bestMetrics = best ? state.history.find((h) => h.epoch === best.epoch) : undefined;
  let modelDir: string | null = null;
  if (best && options.exportBest !== false) {
    const pointer = (await readBestPointer(options.runDir)) ?? (await readLatestPointer(options.runDir));
    if (pointer) {
      modelDir = join(options.runDir, 'model');
      const manifest: ModelManifest = await exportModel(
        checkpointDir(options.runDir, pointer.checkpoint),
        modelDir,
        {
          name: `${source.name}-fcn8s`,
          description: `FCN-8s (${options.head} head, width ${options.widthMultiplier}) trained on ${source.name}`,
          training: {
            dataSource: source.name,
            epochs: state.epoch,
            validationMIoU: best.mIoU,
            validationPixelAccuracy: bestMetrics?.pixelAccuracy,
            command,
            ...(resumed ? { resumedWith: options.command } : {}),
            finishedAt: new Date().toISOString(),
            edgesegVersion,
            bestEpoch: best.epoch,
            learningRate: options.learningRate,
            batchSize: options.batchSize,
            seed: state.seed,
            dropoutRate,
            tfBackend: backendInfo.backend,
            ...(typeof initFrom === 'string' ? { initFrom } : {}),
            ...(Object.keys(heldOut).length > 0 ? { dataSourceOptions: heldOut } : {}),
          },
        },
      );
      options.log(
        `exported epoch ${best.epoch} (mIoU ${best.mIoU.toFixed(4)}) to ${modelDir} (${manifest.name})`,
      );
    }
  }
  const reportPath = join(options.runDir, 'report.html');
  await writeFileAtomic(
    reportPath,
    renderTrainingReport({
      title: `edgeseg training report: ${source.name}`,
      dataSource: source.name,
      command,
      backend: backendInfo.backend,
      classes: source.classes,
      history: state.history,
      best: best ? { epoch: best.epoch, mIoU: best.mIoU } : null,
      previews: result.previews,
      settings: state.settings,
      finishedAt: new Date().toISOString(),
    }),
  );
  return {
    interrupted: result.interrupted,
    epochs: state.epoch,
    bestMIoU: best?.mIoU ?? null,
    bestEpoch: best?.epoch ?? null,
    modelDir,
    reportPath,
    backend: backendInfo.backend,
    seconds: (performance.now() - started) / 1000,
  };
}

/** A model with the data source's size and classes, its weights taken from checkpoint `dir`. */
async function initialModelFrom(dir: string, config: FcnConfig, classes: readonly ClassInfo[]) {
  const start = await loadModel(dir);
  try {
    const mismatch = (['widthMultiplier', 'head', 'numClasses'] as const).filter(
      (key) => start.config[key] !== config[key],
    );
    if (mismatch.length > 0) {
      throw new FileError(
        dir,
        `checkpoint differs from this run in ${mismatch.map((k) => `${k} (${start.config[k]} vs ${config[k]})`).join(', ')}`,
        { hint: 'pass the same --width, --head and a data source with the same number of classes' },
      );
    }
    const weights = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const [name, variable] of start.params)
      weights.set(name, { shape: variable.shape, values: (await variable.data()) as Float32Array });
    // Weights do not depend on the input size, so the run's own size and class table apply.
    return createFcn8s(
      {
        ...config,
        inputChannelOrder: start.config.inputChannelOrder,
        normalization: start.config.normalization,
      },
      { weights, classes: [...classes] },
    );
  } finally {
    start.dispose();
  }
}
