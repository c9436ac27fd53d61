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
import { tf } from '../model/tf.js';
import { FileError } from '../system/errors.js';
import { fsyncDirectory, fsyncFile, writeFileAtomic } from '../system/fs.js';

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

/** The private running products of tfjs' AdamOptimizer (stable since tfjs 1.x). */
interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function adamInternals(optimizer: tf.AdamOptimizer): AdamInternals {
  const internals = optimizer as unknown as Partial<AdamInternals>;
  if (!(internals.accBeta1 instanceof tf.Variable) || !(internals.accBeta2 instanceof tf.Variable))
    throw new Error('this tfjs AdamOptimizer has no accBeta1/accBeta2: checkpoint format needs updating');
  return internals as AdamInternals;
}

export interface CheckpointPointer {
  checkpoint: string;
  epoch: number;
  globalStep: number;
  mIoU?: number;
}

export function checkpointName(state: Pick<TrainingState, 'epoch' | 'stepInEpoch'>): string {
  const epoch = `epoch-${String(state.epoch).padStart(4, '0')}`;
  return state.stepInEpoch === 0 ? epoch : `${epoch}-step-${String(state.stepInEpoch).padStart(6, '0')}`;
}

/** Test hook: called after the temp folder is fully written, before the rename makes it visible. */
export interface SaveCheckpointHooks {
  beforeRename?: (tempDir: string) => Promise<void>;
}

/** Writes checkpoint `<runDir>/checkpoints/<name>` and points latest.json (and best.json if `isBest`) at it. */
export async function saveCheckpoint(
  runDir: string,
  model: FcnModel,
  optimizer: tf.AdamOptimizer,
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
    const namedTensors = await optimizer.getWeights();
    const chunks: Uint8Array[] = [];
    const tensors: z.infer<typeof OptimizerFileSchema>['tensors'] = [];
    let offset = 0;
    for (const { name: tensorName, tensor } of namedTensors) {
      const values = await tensor.data();
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
      tensors.push({
        name: tensorName,
        shape: tensor.shape,
        dtype: tensor.dtype === 'int32' ? 'int32' : 'float32',
        offset,
      });
      chunks.push(bytes);
      offset += bytes.length;
    }
    const internals = adamInternals(optimizer);
    const optimizerFile = {
      kind: 'adam' as const,
      learningRate,
      accBeta1: (await internals.accBeta1.data())[0]!,
      accBeta2: (await internals.accBeta2.data())[0]!,
      tensors,
    };
    await writeFileAtomic(join(tempDir, OPTIMIZER_BIN), Buffer.concat(chunks));
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
  optimizer: tf.AdamOptimizer;
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
    throw new FileError(path, `unreadable training state: ${(error as Error).message}`);
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
  const optimizer = tf.train.adam(optimizerFile.learningRate);
  const named = optimizerFile.tensors.map((entry) => {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const bytes = binary.subarray(entry.offset, entry.offset + count * 4);
    const copy = new Uint8Array(bytes).buffer;
    const values = entry.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
    return { name: entry.name, tensor: tf.tensor(values, entry.shape, entry.dtype) };
  });
  await optimizer.setWeights(named);
  for (const { tensor } of named) tensor.dispose();
  const internals = adamInternals(optimizer);
  tf.tidy(() => {
    internals.accBeta1.assign(tf.scalar(optimizerFile.accBeta1));
    internals.accBeta2.assign(tf.scalar(optimizerFile.accBeta2));
  });
  return { name, model, optimizer, state };
}
