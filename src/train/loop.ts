// The training run across epochs: a fresh start or a resume from the latest checkpoint, the
// learning-rate schedule, the epochs (src/train/epoch.ts), and the checkpoint taken on Ctrl-C.

import { availableParallelism, freemem } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from '../data/types.js';
import type { FcnModel } from '../model/fcn8s.js';
import { tf } from '../model/tf.js';
import { ConfigError } from '../system/errors.js';
import { checkOutputFolder } from '../system/fs.js';
import {
  loadLatestCheckpoint,
  prepareFreshRunDir,
  saveCheckpoint,
  type TrainingState,
} from './checkpoints.js';
import { TRAINING_DEFAULTS } from './defaults.js';
import { etaStatus, finishEpoch, type TrainHooks, type TrainingRun, trainEpochSteps } from './epoch.js';
import { StepClock } from './eta.js';
import { EventFileWriter } from './event-file.js';
import type { EncodedPreview } from './previews.js';
import { HostAdam } from './step/host-adam.js';
import { describeMemoryPlan, describeWorkers, planMicroBatch } from './step/memory-plan.js';
import { type ChannelOrder, trainableVariables } from './step/step.js';
import { startWorkers, stepFailure } from './step/step-failure.js';
import { guardWasmHeap } from './step/wasm-heap.js';

export interface TrainOptions {
  source: DataSource;
  runDir: string;
  /** Builds the initial model (fresh run only; a resume loads the checkpoint's). */
  createModel: () => FcnModel | Promise<FcnModel>;
  epochs?: number;
  batchSize?: number;
  /** Images per forward/backward pass, gradients summed over the batch (default: what fits, memory-plan.ts). */
  microBatchSize?: number;
  /** Gradient workers besides the main thread (gradient-workers.ts); auto: cores − 1 as memory allows. Default 0. */
  trainWorkers?: number | 'auto';
  learningRate?: number;
  /** constant (the original) or cosine decay from learningRate to 1 % of it over the whole run. */
  learningRateSchedule?: 'constant' | 'cosine';
  seed?: number;
  /** Dropout after fc6 and fc7 (default: the original's, TRAINING_DEFAULTS). */
  dropoutRate?: number;
  /** One weight per class id; 0 for ignored classes. */
  classWeights: Float32Array;
  resume?: boolean;
  /** A fresh run into a folder that holds an earlier run deletes that run first (else it is refused). */
  overwrite?: boolean;
  /** Image summaries every N epochs (and after the last one). */
  imageSummaryEvery?: number;
  previewCount?: number;
  /** Stops cleanly after the current step and saves a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  progress?: boolean;
  /** Recorded in the checkpoints and compared on resume. */
  settings?: Record<string, unknown>;
  hooks?: TrainHooks;
}

export interface TrainResult {
  state: TrainingState;
  /** The last checkpoint written. */
  checkpoint: string;
  interrupted: boolean;
  model: FcnModel;
  /** PNG previews from the last image-summary epoch, for the HTML report. */
  previews: EncodedPreview[];
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const epochs = options.epochs ?? TRAINING_DEFAULTS.epochs;
  const batchSize = options.batchSize ?? TRAINING_DEFAULTS.batchSize;
  const learningRate = options.learningRate ?? TRAINING_DEFAULTS.learningRate;
  const log = options.log ?? (() => {});
  const { source, runDir } = options;
  if (options.resume && options.overwrite)
    throw new ConfigError('--overwrite', 'cannot be combined with --resume');
  if (!options.resume) await prepareFreshRunDir(runDir, options.overwrite === true);

  const { model, optimizer, state } = options.resume
    ? await resume(runDir, epochs, log)
    : await start(options, learningRate);
  // A checkpoint holds the weights and Adam's two moments (12 bytes a parameter): a disk without
  // room for one is said now, not after the first epoch.
  await checkOutputFolder(runDir, '--out', 12 * model.parameterCount());
  const plan = planMicroBatch({
    backend: tf.getBackend(),
    batchSize,
    // A resumed run keeps its micro-batch (each draws its own dropout masks) unless told otherwise.
    requestedMicroBatch:
      options.microBatchSize ??
      (options.resume && typeof state.settings.microBatchSize === 'number'
        ? state.settings.microBatchSize
        : undefined),
    height: source.imageSize.height,
    width: source.imageSize.width,
    widthMultiplier: model.config.widthMultiplier,
    numClasses: model.config.numClasses,
    parameterCount: model.parameterCount(),
    requestedWorkers: options.trainWorkers ?? 0,
    cores: availableParallelism(),
    availableHostBytes: freemem(),
  });
  log(describeMemoryPlan(plan, batchSize, tf.getBackend()));
  log(describeWorkers(plan));
  state.settings.microBatchSize = plan.microBatchSize;
  const variables = trainableVariables(model);
  const channelOrder = model.config.inputChannelOrder as ChannelOrder;
  // A resumed run keeps the rate it started with (dropout masks are part of bit-exact resume).
  const dropoutRate =
    typeof state.settings.dropoutRate === 'number'
      ? state.settings.dropoutRate
      : (options.dropoutRate ?? TRAINING_DEFAULTS.dropoutRate);
  const run: TrainingRun = {
    source,
    runDir,
    model,
    optimizer,
    variables,
    classWeights: tf.tensor1d(options.classWeights),
    channelOrder,
    dropoutRate,
    epochs,
    batchSize,
    microBatchSize: plan.microBatchSize,
    learningRate,
    rateAt: learningRateSchedule(
      options.learningRateSchedule ?? 'constant',
      learningRate,
      epochs * Math.ceil(source.numTraining / batchSize),
    ),
    state,
    events: await EventFileWriter.create(join(runDir, 'logs')),
    imageSummaryEvery: options.imageSummaryEvery ?? TRAINING_DEFAULTS.imageSummaryEvery,
    previewCount: options.previewCount ?? TRAINING_DEFAULTS.previewCount,
    signal: options.signal,
    progress: options.progress !== false,
    hooks: options.hooks,
    log,
    clock: new StepClock(state.secondsPerImage),
  };
  if (options.resume)
    log(
      `time left: ${etaStatus(run)} (at the rate measured before the stop, until this run measures its own)`,
    );
  let checkpoint = '';
  let interrupted = false;
  let previews: EncodedPreview[] = [];
  guardWasmHeap();
  try {
    run.workers = await startWorkers(run, plan.workers, options.classWeights);
    while (state.epoch < epochs && !interrupted) {
      const epochStarted = performance.now();
      const steps = await trainEpochSteps(run).catch((error: unknown) => stepFailure(run, error, 'step'));
      if (steps.interrupted) {
        checkpoint = await saveCheckpoint(
          runDir,
          model,
          optimizer,
          learningRate,
          state,
          false,
          options.hooks,
        );
        log(`interrupted: saved checkpoint ${checkpoint} (resume with --resume)`);
        interrupted = true;
        break;
      }
      const finished = await finishEpoch(run, epochStarted, steps.images).catch((error: unknown) =>
        stepFailure(run, error, 'validation'),
      );
      checkpoint = finished.checkpoint;
      previews = finished.previews ?? previews;
      if (options.signal?.aborted) interrupted = true;
    }
  } finally {
    await run.workers?.stop();
    run.classWeights.dispose();
    await run.events.close();
  }
  return { state, checkpoint, interrupted, model, previews };
}

interface RunStart {
  model: FcnModel;
  optimizer: HostAdam;
  state: TrainingState;
}

/** A fresh run: a new model, a new Adam optimizer and step 0. */
async function start(options: TrainOptions, learningRate: number): Promise<RunStart> {
  const model = await options.createModel();
  return {
    model,
    optimizer: new HostAdam(trainableVariables(model), learningRate),
    state: {
      formatVersion: 1,
      epoch: 0,
      stepInEpoch: 0,
      globalStep: 0,
      seed: options.seed ?? TRAINING_DEFAULTS.seed,
      epochLossSum: 0,
      history: [],
      best: null,
      settings: options.settings ?? {},
      startedAt: new Date().toISOString(),
    },
  };
}

/** The latest checkpoint's model, Adam state and training state, to continue exactly where it stopped. */
async function resume(runDir: string, epochs: number, log: (line: string) => void): Promise<RunStart> {
  const { model, optimizer, state, name } = await loadLatestCheckpoint(runDir);
  // A run lengthened with --epochs records its new length, so the next resume compares with that.
  if (typeof state.settings.epochs === 'number') state.settings.epochs = epochs;
  log(
    `resuming from ${name}: epoch ${state.epoch + 1}, batch ${state.stepInEpoch + 1}, step ${state.globalStep}`,
  );
  return { model, optimizer, state };
}

/** constant (the original), or cosine decay from `learningRate` to 1 % of it over `totalSteps`. */
function learningRateSchedule(
  schedule: 'constant' | 'cosine',
  learningRate: number,
  totalSteps: number,
): (step: number) => number {
  if (schedule === 'constant') return () => learningRate;
  return (step) =>
    learningRate * (0.01 + 0.99 * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps)));
}
