// Model directories (model.onnx + manifest.json + optional tfjs/): loading, sha256 verification and
// the check that the manifest's input/output contract fits what the ONNX graph actually declares.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FileError } from '../system/errors.js';
import { sha256File } from '../system/fs.js';
import { MANIFEST_FILE, type ModelManifest, readManifest } from './manifest.js';

export interface ModelDir {
  dir: string;
  manifest: ModelManifest;
  manifestPath: string;
  onnxPath: string;
  /** The tfjs copy of the weights, when the directory has one. */
  tfjsDir: string | undefined;
}

export interface LoadModelDirOptions {
  /** Hash model.onnx and compare with files.onnxSha256 (default true). */
  verifySha256?: boolean;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Reads the manifest, checks that the files it names exist and that model.onnx has the recorded sha256. */
export async function loadModelDir(dir: string, options: LoadModelDirOptions = {}): Promise<ModelDir> {
  if (!(await isDirectory(dir))) {
    throw new FileError(dir, 'model directory not found', {
      hint: 'pass a directory holding model.onnx and manifest.json (see `edgeseg models list`)',
    });
  }
  const manifest = await readManifest(dir);
  const manifestPath = join(dir, MANIFEST_FILE);
  const onnxPath = join(dir, manifest.files.onnx);
  if (!(await isFile(onnxPath))) {
    throw new FileError(
      onnxPath,
      `missing: manifest ${manifestPath} names files.onnx "${manifest.files.onnx}"`,
    );
  }
  if (options.verifySha256 !== false) {
    const actual = await sha256File(onnxPath);
    if (actual !== manifest.files.onnxSha256) {
      throw new FileError(
        onnxPath,
        `sha256 ${actual} does not match files.onnxSha256 ${manifest.files.onnxSha256} in ${manifestPath}`,
        {
          hint: 'the model file was modified or truncated after export: reinstall it from a good copy, or if you changed it on purpose update files.onnxSha256',
        },
      );
    }
  }
  let tfjsDir: string | undefined;
  if (manifest.files.tfjs !== undefined) {
    tfjsDir = join(dir, manifest.files.tfjs);
    if (!(await isFile(join(tfjsDir, 'model.json')))) {
      throw new FileError(
        join(tfjsDir, 'model.json'),
        `missing: manifest ${manifestPath} names files.tfjs "${manifest.files.tfjs}"`,
      );
    }
  }
  return { dir, manifest, manifestPath, onnxPath, tfjsDir };
}

/** What the ONNX graph declares for one input or output (from the onnxruntime session). */
export interface OnnxValueInfo {
  name: string;
  /** onnxruntime tensor type, e.g. "float32", "int64". */
  type: string;
  /** Dims; a string or a negative number is symbolic (any size). Empty when the graph does not say. */
  shape: ReadonlyArray<number | string>;
}

export interface OnnxIo {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

function isStatic(dim: number | string | undefined): dim is number {
  return typeof dim === 'number' && dim >= 0;
}

function expectDim(
  problems: string[],
  field: string,
  what: string,
  dim: number | string | undefined,
  expected: number,
): void {
  if (isStatic(dim) && dim !== expected)
    problems.push(`${field}: manifest says ${what} ${expected}, model has ${dim}`);
}

/** Where height, width and channels sit in a rank-4 tensor of the given layout. */
export function layoutAxes(layout: 'NCHW' | 'NHWC'): { c: number; h: number; w: number } {
  return layout === 'NCHW' ? { c: 1, h: 2, w: 3 } : { c: 3, h: 1, w: 2 };
}

const CLASS_ID_TYPES = new Set(['int64', 'int32', 'uint8', 'int8', 'uint16', 'int16', 'uint32']);

/**
 * Returns the list of ways the manifest contradicts the ONNX graph (empty when it fits), each
 * naming the manifest field. Symbolic dims are accepted as they can take the manifest's size.
 */
export function manifestMismatches(manifest: ModelManifest, io: OnnxIo): string[] {
  const problems: string[] = [];
  const input = io.inputs.find((value) => value.name === manifest.input.name);
  if (!input) {
    problems.push(
      `input.name: manifest says "${manifest.input.name}", model inputs are ${io.inputs.map((v) => `"${v.name}"`).join(', ')}`,
    );
  } else {
    if (io.inputs.length > 1)
      problems.push(
        `input.name: the model has ${io.inputs.length} inputs; edgeseg feeds exactly one image tensor`,
      );
    if (input.type !== manifest.input.dtype)
      problems.push(`input.dtype: manifest says ${manifest.input.dtype}, model input is ${input.type}`);
    if (input.shape.length > 0 && input.shape.length !== 4) {
      problems.push(
        `input.layout: model input has rank ${input.shape.length}, expected 4 (N, C, H, W or N, H, W, C)`,
      );
    } else if (input.shape.length === 4) {
      const axes = layoutAxes(manifest.input.layout);
      expectDim(problems, 'input.layout', `${manifest.input.layout} with channels =`, input.shape[axes.c], 3);
      expectDim(problems, 'input.height', 'height', input.shape[axes.h], manifest.input.height);
      expectDim(problems, 'input.width', 'width', input.shape[axes.w], manifest.input.width);
      if (isStatic(input.shape[0]) && input.shape[0] !== 1)
        problems.push(`input: model batch size is ${input.shape[0]}; edgeseg runs one frame at a time (1)`);
    }
  }

  const output = io.outputs.find((value) => value.name === manifest.output.name);
  const numClasses = manifest.classes.length;
  if (!output) {
    problems.push(
      `output.name: manifest says "${manifest.output.name}", model outputs are ${io.outputs.map((v) => `"${v.name}"`).join(', ')}`,
    );
  } else if (manifest.output.kind === 'classIds') {
    if (!CLASS_ID_TYPES.has(output.type))
      problems.push(`output.kind: classIds needs an integer output, model output is ${output.type}`);
    if (output.shape.length === 4) {
      const axes = layoutAxes(manifest.output.layout);
      expectDim(problems, 'output.layout', 'a single class-id channel, channels =', output.shape[axes.c], 1);
    } else if (output.shape.length > 0 && output.shape.length !== 3) {
      problems.push(
        `output.kind: classIds output has rank ${output.shape.length}, expected 3 (N, H, W) or 4`,
      );
    }
  } else {
    if (output.type !== 'float32')
      problems.push(
        `output.kind: ${manifest.output.kind} needs a float32 output, model output is ${output.type}`,
      );
    if (output.shape.length > 0 && output.shape.length !== 4) {
      problems.push(`output.layout: model output has rank ${output.shape.length}, expected 4`);
    } else if (output.shape.length === 4) {
      const axes = layoutAxes(manifest.output.layout);
      expectDim(
        problems,
        'classes',
        `${numClasses} classes (output.layout ${manifest.output.layout}, channel axis ${axes.c}) but`,
        output.shape[axes.c],
        numClasses,
      );
    }
  }
  return problems;
}

/** Throws a FileError naming model.onnx, manifest.json and every mismatching field. */
export function assertManifestFitsModel(model: ModelDir, io: OnnxIo): void {
  const problems = manifestMismatches(model.manifest, io);
  if (problems.length === 0) return;
  throw new FileError(model.manifestPath, `does not fit ${model.onnxPath}: ${problems.join('; ')}`, {
    hint: 'fix the manifest (or draft a new one with `edgeseg models manifest MODEL.onnx`)',
  });
}
