// Checkpoints in TensorFlow.js's weights-manifest format: model.json (config, classes and a
// weightsManifest) beside one weights file. The weights file has a fresh name on every save and
// model.json is replaced atomically last, so a crash mid-save leaves the previous checkpoint whole.

import { randomBytes } from 'node:crypto';
import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FileError } from '../system/errors.js';
import { fsyncDirectory, writeFileAtomic } from '../system/fs.js';
import {
  ENCODERS,
  FCN_HEADS,
  type FcnConfig,
  fcnLayerSpecs,
  layerParameters,
  validateConfig,
} from './architecture.js';
import { createFcn8s, type FcnModel } from './fcn8s.js';
import { ClassInfoSchema, formatIssues, readJsonFile } from './manifest.js';

export const CHECKPOINT_FILE = 'model.json';
export const CHECKPOINT_FORMAT = 'edgeseg-fcn8s-checkpoint';

const triple = z.tuple([z.number(), z.number(), z.number()]);

export const FcnConfigSchema = z.object({
  /** Absent in checkpoints made before the light encoders: vgg16. */
  encoder: z.enum(ENCODERS).optional(),
  numClasses: z.number().int().min(2).max(255),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  widthMultiplier: z.number().positive().max(1),
  head: z.enum(FCN_HEADS),
  inputChannelOrder: z.enum(['BGR', 'RGB']),
  normalization: z.object({ scale: z.number().positive(), mean: triple, std: triple, source: z.string() }),
});

const WeightEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.literal('float32'),
});

export const CheckpointJsonSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.literal(1),
  config: FcnConfigSchema,
  classes: z.array(ClassInfoSchema),
  weightsManifest: z
    .array(z.object({ paths: z.array(z.string()).length(1), weights: z.array(WeightEntrySchema) }))
    .length(1),
  /** Free-form provenance (VGG16 source file, training run, ...). */
  provenance: z.record(z.string(), z.unknown()).optional(),
});
export type CheckpointJson = z.infer<typeof CheckpointJsonSchema>;

export interface SaveOptions {
  provenance?: Record<string, unknown>;
}

/** Writes `model` into `dir` (created if needed): a fresh weights file, then model.json atomically. */
export async function saveModel(
  dir: string,
  model: FcnModel,
  options: SaveOptions = {},
): Promise<CheckpointJson> {
  const weightsFile = `weights-${randomBytes(4).toString('hex')}.bin`;
  const weightsPath = join(dir, weightsFile);
  await writeFileAtomic(join(dir, '.write-test'), '');
  await rm(join(dir, '.write-test'), { force: true });
  const entries: CheckpointJson['weightsManifest'][0]['weights'] = [];
  const handle = await open(weightsPath, 'w', 0o644);
  try {
    // One tensor at a time: a width-1 model's 537 MB never exists twice in memory.
    for (const [name, variable] of model.params) {
      const values = (await variable.data()) as Float32Array;
      await handle.write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      entries.push({ name, shape: variable.shape, dtype: 'float32' });
    }
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(weightsPath, { force: true });
    throw error;
  }
  await handle.close();
  const json: CheckpointJson = {
    format: CHECKPOINT_FORMAT,
    formatVersion: 1,
    config: model.config,
    classes: model.classes,
    weightsManifest: [{ paths: [weightsFile], weights: entries }],
    ...(options.provenance ? { provenance: options.provenance } : {}),
  };
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), `${JSON.stringify(json, null, 2)}\n`);
  await removeStaleWeights(dir, weightsFile);
  await fsyncDirectory(dir);
  return json;
}

async function removeStaleWeights(dir: string, keep: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (entry !== keep && /^weights-[0-9a-f]{8}\.bin$/.test(entry))
      await rm(join(dir, entry), { force: true });
  }
}

/** Reads and validates `<dir>/model.json`. */
export async function readCheckpointJson(dir: string): Promise<CheckpointJson> {
  const path = join(dir, CHECKPOINT_FILE);
  const parsed = await readJsonFile(
    path,
    'cannot read the checkpoint (is this a checkpoint or tfjs model directory?)',
  );
  const result = CheckpointJsonSchema.safeParse(parsed);
  if (!result.success) throw new FileError(path, `not an edgeseg checkpoint: ${formatIssues(result.error)}`);
  validateConfig(result.data.config as FcnConfig);
  return result.data;
}

/** Reads the weights of a checkpoint as named Float32Arrays (checked against the manifest's sizes). */
export async function readCheckpointWeights(
  dir: string,
  json: CheckpointJson,
): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  const group = json.weightsManifest[0]!;
  const weightsPath = join(dir, group.paths[0]!);
  const expectedBytes = group.weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  let size: number;
  try {
    size = (await stat(weightsPath)).size;
  } catch (error) {
    throw new FileError(weightsPath, 'weights file named by model.json is missing', { cause: error });
  }
  if (size !== expectedBytes) {
    throw new FileError(
      weightsPath,
      `has ${size} bytes but model.json describes ${expectedBytes} (truncated or mismatched)`,
    );
  }
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  const handle = await open(weightsPath, 'r');
  try {
    let offset = 0;
    for (const entry of group.weights) {
      const count = entry.shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(count);
      await handle.read(new Uint8Array(values.buffer), 0, count * 4, offset);
      offset += count * 4;
      weights.set(entry.name, { shape: entry.shape, values });
    }
  } finally {
    await handle.close();
  }
  return weights;
}

/** Checks that every parameter the config needs is present with the right shape. */
export function checkCheckpointWeights(
  dir: string,
  config: FcnConfig,
  weights: Map<string, { shape: number[] }>,
): void {
  for (const spec of fcnLayerSpecs(config)) {
    for (const { name, shape } of layerParameters(spec)) {
      const entry = weights.get(name);
      if (!entry) throw new FileError(join(dir, CHECKPOINT_FILE), `weight ${name} is missing`);
      if (entry.shape.join('x') !== shape.join('x'))
        throw new FileError(
          join(dir, CHECKPOINT_FILE),
          `weight ${name} has shape ${entry.shape.join('x')}, the config needs ${shape.join('x')}`,
        );
    }
  }
}

/** Loads a checkpoint (or an exported model's tfjs/ folder) into a ready FcnModel. */
export async function loadModel(dir: string): Promise<FcnModel> {
  const json = await readCheckpointJson(dir);
  const weights = await readCheckpointWeights(dir, json);
  const config = json.config as FcnConfig;
  checkCheckpointWeights(dir, config, weights);
  return createFcn8s(config, { classes: json.classes, weights });
}
