#!/usr/bin/env node
// The `edgeseg` command line: one file per command under src/cli/, each exporting `register(program)`.

import { Command } from 'commander';
import { runMain } from './main.js';

const program = new Command('edgeseg')
  .description('FCN-8s semantic segmentation of road scenes for edge boards')
  .version(await packageVersion(), '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ sortSubcommands: true });

// Command registrations: one line per command module.
const commandModules: Array<() => Promise<{ register(program: Command): void }>> = [
  () => import('./model.js'),
  () => import('./export.js'),
  () => import('./upscale.js'),
  () => import('./check-data.js'),
  () => import('./infer.js'),
  () => import('./models.js'),
  () => import('./eval.js'),
  () => import('./bench.js'),
  () => import('./train.js'),
];

for (const load of commandModules) (await load()).register(program);

await runMain(program);

async function packageVersion(): Promise<string> {
  const { edgesegVersion } = await import('../system/version.js');
  return edgesegVersion;
}
