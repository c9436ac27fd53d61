import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256File, writeFileAtomic } from '../../src/system/fs.js';
import { makeTempDir } from '../helpers/tmp.js';

test('writeFileAtomic replaces the file and leaves no temp files behind', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'nested', 'config.yaml');
  await writeFileAtomic(path, 'a: 1\n');
  await writeFileAtomic(path, 'a: 2\n');
  assert.equal(await readFile(path, 'utf8'), 'a: 2\n');
  assert.deepEqual(await readdir(join(dir, 'nested')), ['config.yaml']);
});

test('writeFileAtomic keeps the old file when the write fails', async () => {
  const dir = await makeTempDir();
  const path = join(dir, 'state.json');
  await writeFile(path, '{"ok":true}');
  // A folder cannot be renamed over by a file: the rename fails after the temp file is written.
  await assert.rejects(writeFileAtomic(dir, 'x'));
  assert.equal(await readFile(path, 'utf8'), '{"ok":true}');
  assert.deepEqual(await readdir(dir), ['state.json']);
});

test('sha256File matches the digest of the bytes', async () => {
  const dir = await makeTempDir();
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const path = join(dir, 'blob.bin');
  await writeFile(path, bytes);
  assert.equal(await sha256File(path), createHash('sha256').update(bytes).digest('hex'));
});
