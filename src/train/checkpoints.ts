// Crash-safe training checkpoints: model weights (the model core's checkpoint format), Adam state and
// training state in one folder, written under a temp name, fsynced and renamed into place, then the
// latest.json / best.json pointers updated atomically. A crash at any point leaves the previous
// checkpoint and pointers intact.

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loadModel, saveModel } from '../model/checkpoint.js';
import type { FcnModel } from '../model/fcn8s.js';
import { errorMessage, FileError } from '../system/errors.js';
import { fsyncDirectory, fsyncFile, writeFileAtomic } from '../system/fs.js';
import { type AdamMoment, HostAdam } from './step/host-adam.js';
import { trainableVariables } from './step/step.js';

export const CHECKPOINTS_DIR = 'checkpoints';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';
const STATE_JSON = 'training-state.json';
const LATEST = 'latest.json';
const BEST = 'best.json';

const EpochMetricsSchema = z.object({
  epoch: z.number().int(),
  step: z.number().int(),
  trainLoss: z.number(),
  validationLoss: z.number(),
  pixelAccuracy: z.number(),
  mIoU: z.number(),
  /** null where a class never occurred (NaN does not survive JSON). */
  perClassIoU: z.array(z.number().nullable()),
  imagesPerSecond: z.number(),
  seconds: z.number(),
});
export type EpochMetrics = z.infer<typeof EpochMetricsSchema>;

export const TrainingStateSchema = z.object({
  formatVersion: z.literal(1),
  /** Epochs fully done. */
  epoch: z.number().int().nonnegative(),
  /** Batches already done in epoch `epoch` (non-zero only for a checkpoint taken on interruption). */
  stepInEpoch: z.number().int().nonnegative(),
  /** Optimizer steps so far; with the run seed it fixes each step's dropout mask. */
  globalStep: z.number().int().nonnegative(),
  seed: z.number().int(),
  /** Running sum of training losses in the unfinished epoch, so its mean survives a resume. */
  epochLossSum: z.number(),
  history: z.array(EpochMetricsSchema),
  best: z.object({ epoch: z.number().int(), mIoU: z.number(), checkpoint: z.string() }).nullable(),
  /** The settings the run started with; a resume keeps them. */
  settings: z.record(z.string(), z.unknown()),
  startedAt: z.string(),
  /** Training seconds per image measured before this checkpoint, for a resumed run's first ETA. */
  secondsPerImage: z.number().positive().optional(),
});
export type TrainingState = z.infer<typeof TrainingStateSchema>;

const OptimizerFileSchema = z.object({
  kind: z.literal('adam'),
  learningRate: z.number(),
  /** Adam's running β1^t and β2^t exactly as trained; recomputing them with pow() would not be bit-exact. */
  accBeta1: z.number(),
  accBeta2: z.number(),
  tensors: z.array(
    z.object({
      name: z.string(),
      shape: z.array(z.number().int()),
      dtype: z.enum(['float32', 'int32']),
      offset: z.number().int(),
    }),
  ),
});

export interface CheckpointPointer {
  checkpoint: string;
  epoch: number;
  globalStep: number;
  mIoU?: number;
}

/**
 * `epoch-NNNN` after epoch NNNN (counted from 1, as the progress bar counts) has finished;
 * `epoch-NNNN-step-MMMMMM` after step MMMMMM of epoch NNNN, the epoch the bar showed when it stopped.
 */
export function checkpointName(state: Pick<TrainingState, 'epoch' | 'stepInEpoch'>): string {
  if (state.stepInEpoch === 0) return `epoch-${String(state.epoch).padStart(4, '0')}`;
  const running = `epoch-${String(state.epoch + 1).padStart(4, '0')}`;
  return `${running}-step-${String(state.stepInEpoch).padStart(6, '0')}`;
}

/** Test hook: called after the temp folder is fully written, before the rename makes it visible. */
export interface SaveCheckpointHooks {
  beforeRename?: (tempDir: string) => Promise<void>;
}

/** Writes checkpoint `<runDir>/checkpoints/<name>` and points latest.json (and best.json if `isBest`) at it. */
export async function saveCheckpoint(
  runDir: string,
  model: FcnModel,
  optimizer: HostAdam,
  learningRate: number,
  state: TrainingState,
  isBest: boolean,
  hooks: SaveCheckpointHooks = {},
): Promise<string> {
  const root = join(runDir, CHECKPOINTS_DIR);
  await mkdir(root, { recursive: true });
  const name = checkpointName(state);
  const tempDir = join(root, `.tmp-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tempDir);
  try {
    await saveModel(tempDir, model);
    const adam = optimizer.state();
    const chunks: Uint8Array[] = [];
    const tensors: z.infer<typeof OptimizerFileSchema>['tensors'] = [];
    // tfjs's AdamOptimizer layout: the step count as an int32 scalar, then the moments.
    const iterations = new Uint8Array(Int32Array.of(adam.iterations).buffer);
    tensors.push({ name: 'iter', shape: [], dtype: 'int32', offset: 0 });
    chunks.push(iterations);
    let offset = iterations.length;
    for (const moment of adam.moments) {
      tensors.push({ name: moment.name, shape: moment.shape, dtype: 'float32', offset });
      const { buffer, byteOffset, byteLength } = moment.values;
      chunks.push(new Uint8Array(buffer, byteOffset, byteLength));
      offset += byteLength;
    }
    const optimizerFile = {
      kind: 'adam' as const,
      learningRate,
      accBeta1: adam.accBeta1,
      accBeta2: adam.accBeta2,
      tensors,
    };
    await writeFileAtomic(join(tempDir, OPTIMIZER_BIN), chunks);
    await writeFileAtomic(join(tempDir, OPTIMIZER_JSON), `${JSON.stringify(optimizerFile)}\n`);
    await writeFileAtomic(join(tempDir, STATE_JSON), `${JSON.stringify(state, null, 2)}\n`);
    for (const file of await readdir(tempDir)) await fsyncFile(join(tempDir, file));
    await fsyncDirectory(tempDir);
    await hooks.beforeRename?.(tempDir);
    const finalDir = join(root, name);
    await rm(finalDir, { recursive: true, force: true });
    await rename(tempDir, finalDir);
    await fsyncDirectory(root);
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
  const pointer: CheckpointPointer = { checkpoint: name, epoch: state.epoch, globalStep: state.globalStep };
  await writeFileAtomic(join(root, LATEST), `${JSON.stringify(pointer)}\n`);
  if (isBest && state.best)
    await writeFileAtomic(join(root, BEST), `${JSON.stringify({ ...pointer, mIoU: state.best.mIoU })}\n`);
  return name;
}

async function readPointer(runDir: string, file: string): Promise<CheckpointPointer | undefined> {
  try {
    return JSON.parse(await readFile(join(runDir, CHECKPOINTS_DIR, file), 'utf8')) as CheckpointPointer;
  } catch {
    return undefined;
  }
}

export const readLatestPointer = (runDir: string) => readPointer(runDir, LATEST);
export const readBestPointer = (runDir: string) => readPointer(runDir, BEST);

export function checkpointDir(runDir: string, name: string): string {
  return join(runDir, CHECKPOINTS_DIR, name);
}

/** Removes checkpoints other than the latest and the best, and temp folders left by a crash. */
export async function pruneCheckpoints(runDir: string): Promise<void> {
  const keep = new Set(
    [(await readLatestPointer(runDir))?.checkpoint, (await readBestPointer(runDir))?.checkpoint].filter(
      (name): name is string => name !== undefined,
    ),
  );
  const root = join(runDir, CHECKPOINTS_DIR);
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || keep.has(entry.name)) continue;
    if (entry.name.startsWith('epoch-') || entry.name.startsWith('.tmp-'))
      await rm(join(root, entry.name), { recursive: true, force: true });
  }
}

/** What a run writes into its folder; `--overwrite` removes exactly these. */
export const RUN_OUTPUTS = [CHECKPOINTS_DIR, 'logs', 'model', 'report.html'] as const;

/**
 * Makes `runDir` ready for a fresh run. A folder that already holds a run (a checkpoints/latest.json)
 * is refused, since starting over would prune that run's checkpoints at the first epoch and mix two
 * runs' TensorBoard logs; `overwrite` deletes the earlier run's outputs (RUN_OUTPUTS) first.
 */
export async function prepareFreshRunDir(runDir: string, overwrite: boolean): Promise<void> {
  const earlier = await readLatestPointer(runDir);
  if (earlier && !overwrite)
    throw new FileError(
      join(runDir, CHECKPOINTS_DIR, LATEST),
      `this folder already holds a training run (checkpoint ${earlier.checkpoint}, ${earlier.epoch} epochs done)`,
      {
        hint: 'add --resume to continue it, --overwrite to delete it and start over, or choose another --out',
      },
    );
  if (overwrite)
    for (const name of RUN_OUTPUTS) await rm(join(runDir, name), { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });
}

export interface LoadedCheckpoint {
  name: string;
  model: FcnModel;
  optimizer: HostAdam;
  state: TrainingState;
}

/** The training state of the checkpoint latest.json points to (settings, history), without the weights. */
export async function readLatestState(runDir: string): Promise<{ name: string; state: TrainingState }> {
  const pointer = await readLatestPointer(runDir);
  if (!pointer)
    throw new FileError(join(runDir, CHECKPOINTS_DIR, LATEST), 'no checkpoint to resume from', {
      hint: 'start without --resume, or pass the --out folder of an earlier run',
    });
  const path = join(checkpointDir(runDir, pointer.checkpoint), STATE_JSON);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new FileError(path, `unreadable training state: ${errorMessage(error)}`);
  }
  const stateParse = TrainingStateSchema.safeParse(json);
  if (!stateParse.success) throw new FileError(path, 'invalid training state');
  return { name: pointer.checkpoint, state: stateParse.data };
}

/** Loads the checkpoint latest.json points to: model, a restored Adam, and the training state. */
export async function loadLatestCheckpoint(runDir: string): Promise<LoadedCheckpoint> {
  const { name, state } = await readLatestState(runDir);
  const dir = checkpointDir(runDir, name);
  const optimizerParse = OptimizerFileSchema.safeParse(
    JSON.parse(await readFile(join(dir, OPTIMIZER_JSON), 'utf8')),
  );
  if (!optimizerParse.success) throw new FileError(join(dir, OPTIMIZER_JSON), 'invalid optimizer state');
  const optimizerFile = optimizerParse.data;
  const binary = await readFile(join(dir, OPTIMIZER_BIN));
  const model = await loadModel(dir);
  const optimizer = new HostAdam(trainableVariables(model), optimizerFile.learningRate);
  let iterations = 0;
  const moments: AdamMoment[] = [];
  for (const entry of optimizerFile.tensors) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const copy = new Uint8Array(binary.subarray(entry.offset, entry.offset + count * 4)).buffer;
    if (entry.name === 'iter') iterations = new Int32Array(copy)[0] ?? 0;
    else moments.push({ name: entry.name, shape: entry.shape, values: new Float32Array(copy) });
  }
  try {
    optimizer.restore({
      iterations,
      accBeta1: optimizerFile.accBeta1,
      accBeta2: optimizerFile.accBeta2,
      moments,
    });
  } catch (error) {
    throw new FileError(join(dir, OPTIMIZER_BIN), errorMessage(error), {
      hint: 'this checkpoint does not belong to this model; resume from the run that wrote it',
    });
  }
  return { name, model, optimizer, state };
}
