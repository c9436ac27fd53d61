// The models path on a board: install model directories (sha256-verified, atomic), list and verify
// them, and draft a manifest for an ONNX model trained elsewhere from its own inputs and outputs.

import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type ort from 'onnxruntime-node';
import { createSession, releaseSession, sessionIo } from '../engine/ort-binding.js';
import type { ModelManifest } from '../model/manifest.js';
import { assertManifestFitsModel, loadModelDir, type ModelDir } from '../model/model-dir.js';
import { errorMessage, FileError, UserError } from '../system/errors.js';
import { fsyncDirectory, sha256File } from '../system/fs.js';

export const SYSTEM_MODELS_DIR = '/var/lib/edgeseg/models';

/** --models-dir, else EDGESEG_MODELS_DIR, else /var/lib/edgeseg/models when it exists, else ./models. */
export async function resolveModelsDir(flag: string | undefined, env = process.env): Promise<string> {
  if (flag) return resolve(flag);
  if (env.EDGESEG_MODELS_DIR) return resolve(env.EDGESEG_MODELS_DIR);
  const system = await stat(SYSTEM_MODELS_DIR).catch(() => undefined);
  if (system?.isDirectory()) return SYSTEM_MODELS_DIR;
  return resolve('models');
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}

/** Loads the model, checks its sha256, and checks the manifest against the graph with onnxruntime. */
export async function verifyModelDir(dir: string): Promise<ModelDir> {
  const model = await loadModelDir(dir);
  let session: ort.InferenceSession;
  try {
    session = await createSession(model.onnxPath, { executionProviders: ['cpu'] });
  } catch (error) {
    throw new FileError(model.onnxPath, `onnxruntime cannot load the model: ${errorMessage(error)}`);
  }
  try {
    assertManifestFitsModel(model, sessionIo(session));
  } finally {
    await releaseSession(session);
  }
  return model;
}

export interface InstalledModel {
  name: string;
  dir: string;
  manifest: ModelManifest | undefined;
  sizeBytes: number;
  onnxBytes: number;
  /** Why the directory is not a loadable model (list reads manifests only; verify hashes). */
  problem: string | undefined;
}

export async function listModels(modelsDir: string): Promise<InstalledModel[]> {
  const entries = await readdir(modelsDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw new FileError(modelsDir, `cannot read the models directory: ${error.message}`);
  });
  const models: InstalledModel[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const dir = join(modelsDir, entry.name);
    const sizeBytes = await directorySize(dir);
    try {
      const model = await loadModelDir(dir, { verifySha256: false });
      const onnxBytes = (await stat(model.onnxPath)).size;
      models.push({
        name: entry.name,
        dir,
        manifest: model.manifest,
        sizeBytes,
        onnxBytes,
        problem: undefined,
      });
    } catch (error) {
      models.push({
        name: entry.name,
        dir,
        manifest: undefined,
        sizeBytes,
        onnxBytes: 0,
        problem: errorMessage(error),
      });
    }
  }
  return models.sort((a, b) => a.name.localeCompare(b.name));
}

export interface VerifyResult {
  name: string;
  dir: string;
  ok: boolean;
  problem: string | undefined;
}

export async function verifyModels(modelsDir: string): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const model of await listModels(modelsDir)) {
    try {
      await verifyModelDir(model.dir);
      results.push({ name: model.name, dir: model.dir, ok: true, problem: undefined });
    } catch (error) {
      results.push({ name: model.name, dir: model.dir, ok: false, problem: errorMessage(error) });
    }
  }
  return results;
}

/**
 * Copies a verified model directory into the models path under `name` (default: the source
 * folder's name): copied to a hidden temp folder, verified again there, then renamed into place.
 */
export async function installModel(
  sourceDir: string,
  modelsDir: string,
  options: { name?: string; force?: boolean } = {},
): Promise<string> {
  await verifyModelDir(sourceDir);
  const name = options.name ?? basename(resolve(sourceDir));
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
    throw new UserError(`invalid model name "${name}"`, {
      hint: 'use letters, digits, dot, dash, underscore',
    });
  await mkdir(modelsDir, { recursive: true });
  const target = join(modelsDir, name);
  const exists = await stat(target).catch(() => undefined);
  if (exists && !options.force)
    throw new FileError(target, 'a model with this name is already installed', {
      hint: 'pass --force to replace it',
    });
  const staging = join(modelsDir, `.install-${name}-${randomBytes(4).toString('hex')}`);
  try {
    await cp(sourceDir, staging, { recursive: true });
    // Hash the copy, not the source: this is what catches a copy truncated by a full disk.
    const copied = await loadModelDir(staging);
    const actual = await sha256File(copied.onnxPath);
    if (actual !== copied.manifest.files.onnxSha256)
      throw new FileError(copied.onnxPath, 'sha256 changed while copying');
    if (exists) {
      const old = join(modelsDir, `.old-${name}-${randomBytes(4).toString('hex')}`);
      await rename(target, old);
      await rename(staging, target);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(staging, target);
    }
    await fsyncDirectory(modelsDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return target;
}

export interface ManifestDraft {
  manifest: ModelManifest;
  /** What the user must check or edit before trusting the draft. */
  checks: string[];
}

/** Drafts a manifest from an ONNX model's own input/output names and shapes. */
export async function draftManifest(onnxPath: string): Promise<ManifestDraft> {
  let session: ort.InferenceSession;
  try {
    session = await createSession(onnxPath, { executionProviders: ['cpu'] });
  } catch (error) {
    throw new FileError(onnxPath, `onnxruntime cannot load the model: ${errorMessage(error)}`);
  }
  const { inputs, outputs } = sessionIo(session);
  await releaseSession(session);
  const checks: string[] = [];
  const input = inputs[0]!;
  const output = outputs[0]!;
  if (inputs.length > 1)
    checks.push(`the model has ${inputs.length} inputs; edgeseg feeds only "${input.name}"`);
  if (outputs.length > 1)
    checks.push(
      `the model has ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')}); the draft uses "${output.name}" — pick the per-pixel class scores`,
    );
  const dim = (value: number | string | undefined) =>
    typeof value === 'number' && value > 0 ? value : undefined;
  const shape = input.shape;
  // Three channels first (after the batch) means NCHW, three last means NHWC.
  const layout: 'NCHW' | 'NHWC' = dim(shape[1]) === 3 ? 'NCHW' : dim(shape[3]) === 3 ? 'NHWC' : 'NCHW';
  if (dim(shape[1]) !== 3 && dim(shape[3]) !== 3)
    checks.push(`input layout: no axis of size 3 found in [${shape.join(', ')}]; guessed NCHW`);
  const [hAxis, wAxis] = layout === 'NCHW' ? [2, 3] : [1, 2];
  let height = dim(shape[hAxis]);
  let width = dim(shape[wAxis]);
  if (height === undefined || width === undefined) {
    checks.push(
      `input.height/width: the model accepts any size (dims [${shape.join(', ')}]); the draft says 512x1024 — set the size you want to run at`,
    );
    height ??= 512;
    width ??= 1024;
  }
  let kind: ModelManifest['output']['kind'] = 'logits';
  let outputLayout: 'NCHW' | 'NHWC' = 'NCHW';
  let numClasses = 2;
  if (output.type !== 'float32') {
    kind = 'classIds';
    checks.push(
      `output: integer output (${output.type}) taken as class ids; set classes to the ids it produces`,
    );
  } else if (output.shape.length === 4) {
    const channelsFirst = dim(output.shape[1]);
    const channelsLast = dim(output.shape[3]);
    outputLayout =
      channelsFirst !== undefined &&
      channelsFirst <= 255 &&
      (channelsLast === undefined || channelsFirst < channelsLast)
        ? 'NCHW'
        : 'NHWC';
    numClasses = (outputLayout === 'NCHW' ? channelsFirst : channelsLast) ?? 2;
    checks.push(
      'output.kind: drafted as logits; if the graph ends in Softmax, set "probabilities" (argmax is the same, probability-based metrics differ)',
    );
  }
  if (numClasses < 2) numClasses = 2;
  checks.push(
    `classes: named class0..class${numClasses - 1}; give them real names and colours (ids = output channel order)`,
  );
  checks.push('input.channelOrder: drafted as RGB; models converted from Caffe/OpenCV often expect BGR');
  checks.push(
    'precision: drafted as fp32; say int8 if the graph is quantized (QuantizeLinear/DequantizeLinear)',
  );
  checks.push(
    'input.scale/mean/std: drafted as raw 0-255 pixels; torchvision models expect scale 1/255 with ImageNet mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225]',
  );
  const manifest: ModelManifest = {
    formatVersion: 1,
    name: basename(onnxPath).replace(/\.onnx$/i, ''),
    description: 'drafted by `edgeseg models manifest`; check every field marked in its report',
    precision: 'fp32',
    classes: Array.from({ length: numClasses }, (_, id) => ({
      id,
      name: `class${id}`,
      color: [(id * 97) % 256, (id * 57 + 80) % 256, (id * 151 + 40) % 256] as [number, number, number],
      ignore: false,
    })),
    input: {
      name: input.name,
      layout,
      height,
      width,
      channelOrder: 'RGB',
      dtype: input.type === 'uint8' ? 'uint8' : 'float32',
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: 'stretch',
    },
    output: { name: output.name, kind, layout: outputLayout },
    files: { onnx: basename(onnxPath), onnxSha256: await sha256File(onnxPath) },
  };
  return { manifest, checks };
}
