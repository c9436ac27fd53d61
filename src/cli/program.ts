// The `edgeseg` commander program: one file per command under src/cli/, each exporting
// `register(program)`. Built here so that tests can walk every command and flag.

import { Command } from 'commander';
import { edgesegVersion } from '../system/version.js';

// Command registrations: one line per command module, keyed by the top-level command it registers.
// Only the command being run is loaded (each pulls in tfjs, onnxruntime or sharp); help and unknown
// commands load them all so commander can list them.
const commandModules: Record<string, () => Promise<{ register(program: Command): void }>> = {
  model: () => import('./model.js'),
  export: () => import('./export.js'),
  quantize: () => import('./quantize.js'),
  upscale: () => import('./upscale.js'),
  'check-data': () => import('./check-data.js'),
  infer: () => import('./infer.js'),
  models: () => import('./models.js'),
  eval: () => import('./eval.js'),
  bench: () => import('./bench.js'),
  train: () => import('./train.js'),
  run: () => import('./run.js'),
  watch: () => import('./watch.js'),
  data: () => import('./data.js'),
};

/**
 * The program with the command `requested` names, with every command when it names none
 * (help, an unknown command), or with none at all for `null` (--version).
 */
export async function createProgram(requested?: string | null): Promise<Command> {
  const program = new Command('edgeseg')
    .description('FCN-8s semantic segmentation of road scenes for edge boards')
    .version(edgesegVersion, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true });
  const loaders =
    requested === null
      ? []
      : requested !== undefined && Object.hasOwn(commandModules, requested)
        ? [commandModules[requested]!]
        : Object.values(commandModules);
  for (const load of loaders) (await load()).register(program);
  return program;
}
