// Temporary folders that clean up after the test that made them.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh folder removed when the current test file finishes (kept if EDGESEG_KEEP_TMP is set). */
export async function makeTempDir(prefix = 'edgeseg-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  after(async () => {
    if (!process.env.EDGESEG_KEEP_TMP) await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * A fresh folder for a whole test file, made in a before() hook: makeTempDir's cleanup would run
 * when the hook ends. Call the returned function from after().
 */
export async function makeSuiteDir(
  prefix = 'edgeseg-test-',
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return {
    dir,
    remove: async () => {
      if (!process.env.EDGESEG_KEEP_TMP) await rm(dir, { recursive: true, force: true });
    },
  };
}
