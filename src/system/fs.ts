// Crash-safe file writes: a reader sees the old file or the new one, never a torn mix.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

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
    throw error;
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
