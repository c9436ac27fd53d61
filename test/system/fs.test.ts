import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { sha256File, writeFileAtomic } from '../../src/system/fs.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

test('writeFileAtomic replaces the file and leaves no temp files behind', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'nested', 'config.yaml');
  await writeFileAtomic(path, 'a: 1\n');
  await writeFileAtomic(path, 'a: 2\n');
  assert.equal(await readFile(path, 'utf8'), 'a: 2\n');
  assert.deepEqual(await readdir(join(dir, 'nested')), ['config.yaml']);
});

/**
 * Runs writeFileAtomic(path, `bytes` bytes) in a child whose file-size limit (ulimit -f, KiB) is
 * below `bytes`: the write itself fails part-way with EFBIG, as on a full disk. Returns the error code.
 */
function writeBeyondFileSizeLimit(path: string, bytes: number, limitKiB: number): string {
  const fsModule = pathToFileURL(join(repoRoot, 'src/system/fs.ts')).href;
  const script = `
    const { writeFileAtomic } = await import(${JSON.stringify(fsModule)});
    try {
      await writeFileAtomic(${JSON.stringify(path)}, Buffer.alloc(${bytes}, 120));
      console.log('written');
    } catch (error) {
      console.log(error.code ?? error.message);
    }`;
  const result = spawnSync(
    'bash',
    [
      '-c',
      `ulimit -f ${limitKiB} && exec "$0" --import tsx --input-type=module -e "$1"`,
      process.execPath,
      script,
    ],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim();
}

test('writeFileAtomic keeps the old file and leaves no temp file when the write fails part-way', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'state.json');
  await writeFile(path, '{"ok":true}');
  // Node ignores SIGXFSZ, so the write past the limit fails with EFBIG after 256 KiB are on disk.
  assert.equal(writeBeyondFileSizeLimit(path, 1024 * 1024, 256), 'EFBIG');
  const kept = await readFile(path, 'utf8');
  assert.equal(kept, '{"ok":true}', `the old file was replaced by ${kept.length} bytes`);
  assert.deepEqual(await readdir(dir), ['state.json']);
});

test('writeFileAtomic leaves no temp file when the rename fails', async () => {
  const dir = await makeTempDir();
  // A file cannot be renamed over a non-empty folder: the temp file is written, then rename fails.
  const path = join(dir, 'state');
  await mkdir(path);
  await writeFile(join(path, 'kept.txt'), 'kept');
  await assert.rejects(writeFileAtomic(path, 'x'), { code: 'EISDIR' });
  assert.deepEqual(await readdir(dir), ['state']);
  assert.equal(await readFile(join(path, 'kept.txt'), 'utf8'), 'kept');
});

test('sha256File matches the digest of the bytes', async () => {
  const dir = await makeTempDir();
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const path = join(dir, 'blob.bin');
  await writeFile(path, bytes);
  assert.equal(await sha256File(path), createHash('sha256').update(bytes).digest('hex'));
});
