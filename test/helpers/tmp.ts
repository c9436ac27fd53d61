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
