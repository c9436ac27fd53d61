// Compiles src/ to JavaScript for one test run, so that the CLI and daemon subprocesses the tests
// start (well over a hundred) load plain JS instead of each compiling src/ again through tsx.
// Used by scripts/run-tests.mjs: one file in, one file out (esbuild's transform, no bundling), the
// folder layout kept, into a folder of the run's own beside src/ (system/version.ts finds the
// package root two levels up, as from dist/). It is made fresh at the start of every run, so it is
// never stale, and removed at the end; test/helpers/cli.ts runs it when EDGESEG_TEST_BUILD names it.

import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD_PREFIX = '.test-build-';

function tsFiles(folder) {
  const found = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...tsFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(path);
  }
  return found;
}

/** True while a process with this id runs (a folder left by a run that was killed can go). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Removes the build folders of runs that are no longer running (killed before they cleaned up). */
function removeOrphans(root) {
  for (const entry of readdirSync(root)) {
    if (!entry.startsWith(BUILD_PREFIX)) continue;
    const pid = Number(entry.slice(BUILD_PREFIX.length));
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid))
      rmSync(join(root, entry), { recursive: true, force: true });
  }
}

/**
 * Compiles `root`/src into `root`/.test-build-PID and returns that folder. esbuild is tsx's own
 * compiler (installed with it), so the output is what tsx would run, minus the per-process compile.
 */
export async function buildForTests(root) {
  removeOrphans(root);
  const outdir = join(root, `${BUILD_PREFIX}${process.pid}`);
  rmSync(outdir, { recursive: true, force: true });
  const requireFromTsx = createRequire(createRequire(join(root, 'package.json')).resolve('tsx/package.json'));
  const esbuild = await import(requireFromTsx.resolve('esbuild'));
  await esbuild.build({
    entryPoints: tsFiles(join(root, 'src')),
    outdir,
    outbase: join(root, 'src'),
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'warning',
  });
  return outdir;
}

export function removeBuild(outdir) {
  rmSync(outdir, { recursive: true, force: true });
}

// `node scripts/test-build.mjs` alone: build, print the folder, leave it (to time or inspect it).
if (import.meta.url === `file://${process.argv[1]}`) {
  const started = process.hrtime.bigint();
  const outdir = await buildForTests(fileURLToPath(new URL('..', import.meta.url)));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`${outdir} (${ms.toFixed(0)} ms)`);
}
