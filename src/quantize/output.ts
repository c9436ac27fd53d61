// Where `edgeseg quantize` writes: the --out checks (never over the source, never over something
// that is not a model directory), and an int8 model directory (model.onnx + validated manifest).

import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  formatIssues,
  MANIFEST_FILE,
  type ModelManifest,
  ModelManifestSchema,
  ONNX_FILE,
} from '../model/manifest.js';
import { ConfigError, FileError } from '../system/errors.js';
import { sha256File, writeFileAtomic, writeFileNamed } from '../system/fs.js';

/** Refuses an --out that is the source, exists without --overwrite, or is not a model directory. */
export async function checkOutDir(outDir: string, sourceDir: string, overwrite: boolean): Promise<string> {
  const target = resolve(outDir);
  if (target === resolve(sourceDir))
    throw new ConfigError('--out', `must name a new model directory, not the source ${sourceDir}`);
  const existing = await stat(target).catch(() => undefined);
  if (!existing) return target;
  if (!overwrite)
    throw new FileError(target, 'already exists', {
      hint: 'choose another --out, or pass --overwrite to replace it',
    });
  // --overwrite replaces a model directory (or an empty folder), never anything else a typo names.
  const entries = existing.isDirectory() ? await readdir(target) : undefined;
  if (!entries || (entries.length > 0 && !entries.includes(MANIFEST_FILE)))
    throw new FileError(
      target,
      'exists and is not a model directory (no manifest.json); refusing to replace it',
      {
        hint: 'choose another --out',
      },
    );
  return target;
}

/** Writes model.onnx and a manifest (hashed and validated) into `dir`; returns the manifest. */
export async function writeModelDir(dir: string, bytes: Uint8Array, manifest: Omit<ModelManifest, 'files'>) {
  await mkdir(dir, { recursive: true });
  await writeFileNamed(join(dir, ONNX_FILE), bytes);
  const parsed = ModelManifestSchema.safeParse({
    ...manifest,
    files: { onnx: ONNX_FILE, onnxSha256: await sha256File(join(dir, ONNX_FILE)) },
  });
  if (!parsed.success)
    throw new Error(`quantize produced an invalid manifest: ${formatIssues(parsed.error)}`);
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(parsed.data, null, 2)}\n`);
  return parsed.data;
}
