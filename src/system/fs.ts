// Crash-safe file writes (a reader sees the old file or the new one, never a torn mix), and the
// check a long job makes before it starts that its output folder can be written.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from './errors.js';
import { describeSystemCause, describeSystemError, withPath } from './os-errors.js';

/**
 * Fails at once, naming `flag` and the path, when `folder` cannot take a job's output: it cannot be
 * created, a file cannot be written in it (read-only, permissions), or it has less than
 * `minFreeBytes` free. A long job calls it before its first slow step, not after it.
 */
export async function checkOutputFolder(folder: string, flag: string, minFreeBytes = 0): Promise<void> {
  const probe = join(folder, `.edgeseg-write-test.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    const problem = describeSystemError(error);
    if (problem) throw new UserError(`${flag}: ${problem}`, { cause: error });
    throw error;
  }
  try {
    const handle = await open(probe, 'wx');
    await handle.close();
    await rm(probe, { force: true });
  } catch (error) {
    const cause = describeSystemCause(error);
    if (cause) throw new UserError(`${flag}: cannot write in ${folder}: ${cause}`, { cause: error });
    throw error;
  }
  if (minFreeBytes <= 0) return;
  const space = await statfs(folder);
  const freeBytes = space.bavail * space.bsize;
  if (freeBytes < minFreeBytes)
    throw new UserError(
      `${flag}: ${folder} has ${megabytes(freeBytes)} free, the output needs about ${megabytes(minFreeBytes)}; free some space or choose another disk (ENOSPC)`,
    );
}

/** Bytes of the files directly in `folder` (0 when it cannot be read): a job's estimate of its output. */
export async function folderFileBytes(folder: string): Promise<number> {
  let total = 0;
  try {
    for (const entry of await readdir(folder, { withFileTypes: true }))
      if (entry.isFile()) total += (await stat(join(folder, entry.name))).size;
  } catch {
    return 0;
  }
  return total;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`;
}

/** Writes `data` to a temp file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder. */
export async function writeFileAtomic(
  path: string,
  // Chunks are written in order without being joined first (a full-width checkpoint's Adam state is 1 GB).
  data: string | Uint8Array | Uint8Array[],
): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const tempPath = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tempPath, 'w', 0o644);
  try {
    if (Array.isArray(data)) {
      for (const chunk of data) {
        for (let written = 0; written < chunk.byteLength; )
          written += (await handle.write(chunk, written, chunk.byteLength - written)).bytesWritten;
      }
    } else {
      await handle.writeFile(data);
    }
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tempPath, { force: true });
    throw withPath(error, path);
  }
  await handle.close();
  try {
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
  await fsyncDirectory(folder);
}

/** fs.writeFile whose errors always name `path` (Node's "ENOSPC ... write" names none). */
export async function writeFileNamed(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (error) {
    throw withPath(error, path);
  }
}

/** Makes a rename inside `folder` durable (a no-op where directories cannot be opened, e.g. Windows). */
export async function fsyncDirectory(folder: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic there.
  } finally {
    await handle?.close();
  }
}

/** Flushes a file someone else wrote (e.g. a native library) to disk before a rename publishes it. */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** sha256 of a file as lowercase hex, streamed so that large models do not need to fit in memory. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
