// `edgeseg models list|install|verify|manifest`: the installed models on a board, and manifests
// for ONNX models trained elsewhere.

import type { Command } from 'commander';
import {
  draftManifest,
  installModel,
  listModels,
  resolveModelsDir,
  verifyModels,
} from '../model-store/model-store.js';
import { UserError } from '../system/errors.js';
import { checkOutputFolder, folderFileBytes, writeFileAtomic } from '../system/fs.js';

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

interface StoreFlags {
  modelsDir?: string;
  json?: boolean;
}

const MODELS_DIR_OPTION = [
  '--models-dir <dir>',
  'models path (default: $EDGESEG_MODELS_DIR, /var/lib/edgeseg/models, ./models)',
] as const;

/** `models list` and `models verify`: a report on the models folder, as text or (--json) JSON. */
function storeReport(
  models: Command,
  name: string,
  description: string,
  report: (dir: string, json: boolean) => Promise<void>,
): void {
  models
    .command(name)
    .description(description)
    .option(...MODELS_DIR_OPTION)
    .option('--json', 'machine-readable output')
    .action(async (flags: StoreFlags) =>
      report(await resolveModelsDir(flags.modelsDir), flags.json === true),
    );
}

/** `models list`. */
async function printModelList(dir: string, json: boolean): Promise<void> {
  const installed = await listModels(dir);
  if (json) {
    const rows = installed.map((model) => ({
      name: model.name,
      dir: model.dir,
      sizeBytes: model.sizeBytes,
      onnxBytes: model.onnxBytes,
      precision: model.manifest?.precision,
      classes: model.manifest?.classes.map((cls) => cls.name),
      input: model.manifest && {
        height: model.manifest.input.height,
        width: model.manifest.input.width,
        layout: model.manifest.input.layout,
      },
      problem: model.problem,
    }));
    process.stdout.write(`${JSON.stringify({ modelsDir: dir, models: rows }, null, 2)}\n`);
    return;
  }
  if (installed.length === 0) {
    process.stdout.write(`no models in ${dir} (install one with \`edgeseg models install DIR\`)\n`);
    return;
  }
  process.stdout.write(`models in ${dir}:\n`);
  for (const model of installed) {
    if (!model.manifest) {
      process.stdout.write(`  ${model.name}: BROKEN: ${model.problem}\n`);
      continue;
    }
    const { input, classes, precision } = model.manifest;
    process.stdout.write(
      `  ${model.name}: ${precision}, input ${input.height}x${input.width} (HxW) ${input.layout} ${input.channelOrder}, ${classes.length} classes (${classes.map((c) => c.name).join(', ')}), model.onnx ${megabytes(model.onnxBytes)}, total ${megabytes(model.sizeBytes)}\n`,
    );
  }
}

/** `models verify`: throws when any model fails. */
async function printVerification(dir: string, json: boolean): Promise<void> {
  const results = await verifyModels(dir);
  const failed = results.filter((result) => !result.ok);
  if (json) process.stdout.write(`${JSON.stringify({ modelsDir: dir, results }, null, 2)}\n`);
  else {
    for (const result of results)
      process.stdout.write(
        result.ok ? `ok      ${result.name}\n` : `FAILED  ${result.name}: ${result.problem}\n`,
      );
    if (results.length === 0) process.stdout.write(`no models in ${dir}\n`);
  }
  if (failed.length > 0)
    throw new UserError(
      `${failed.length} of ${results.length} models failed verification: ${failed.map((f) => f.name).join(', ')}`,
    );
}

export function register(program: Command): void {
  const models = program
    .command('models')
    .description(
      'installed models: list, install (sha256-verified), verify; draft manifests for your own ONNX models',
    );

  storeReport(
    models,
    'list',
    'list installed models with classes, input size and file sizes',
    printModelList,
  );

  models
    .command('install <source-dir>')
    .description('copy a model directory into the models path after verifying its sha256 and manifest')
    .option(...MODELS_DIR_OPTION)
    .option('--name <name>', 'installed name (default: the source folder name)')
    .option('--force', 'replace an installed model of the same name')
    .action(async (source: string, flags: StoreFlags & { name?: string; force?: boolean }) => {
      const dir = await resolveModelsDir(flags.modelsDir);
      await checkOutputFolder(
        dir,
        flags.modelsDir ? '--models-dir' : 'models path',
        await folderFileBytes(source),
      );
      const target = await installModel(source, dir, {
        ...(flags.name ? { name: flags.name } : {}),
        force: flags.force === true,
      });
      process.stdout.write(`installed ${source} as ${target} (sha256 verified)\n`);
    });

  storeReport(
    models,
    'verify',
    'check every installed model: files present, sha256, manifest fits the graph',
    printVerification,
  );

  models
    .command('manifest <model-onnx>')
    .description("draft a manifest.json from an ONNX model's own input/output names and shapes")
    .option('--out <file>', 'write the draft here (default: print it)')
    .action(async (onnxPath: string, flags: { out?: string }) => {
      const draft = await draftManifest(onnxPath);
      const text = `${JSON.stringify(draft.manifest, null, 2)}\n`;
      if (flags.out) {
        await writeFileAtomic(flags.out, text);
        process.stderr.write(`wrote ${flags.out}\n`);
      } else {
        process.stdout.write(text);
      }
      process.stderr.write(`check before use:\n${draft.checks.map((check) => `  - ${check}`).join('\n')}\n`);
    });
}
