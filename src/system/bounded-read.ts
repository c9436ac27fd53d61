// Reading a small file the daemon trusts only so far (config, manifest, persisted remote config):
// it must be a regular file (a link to /dev/zero or a FIFO is refused at once, before any byte is
// read) and no larger than a limit; never more than the limit is read.

import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** The file exists but is not something we read: not a regular file, a refused link, too large. */
export class UnreadableFileShape extends Error {
  constructor(
    /** `not-regular`: a link (when refused), device, FIFO, socket or folder; nothing was read. */
    readonly kind: 'not-regular' | 'too-large',
    readonly problem: string,
  ) {
    super(problem);
    this.name = 'UnreadableFileShape';
  }
}

export interface BoundedReadOptions {
  maxBytes: number;
  /** Refuse a symbolic link (for files only this program writes, e.g. by rename). */
  noFollow?: boolean;
}

/**
 * The file's text. Throws UnreadableFileShape when it is not a regular file or is larger than
 * `maxBytes`, and the system's error (ENOENT, EACCES…) when it cannot be opened.
 */
export async function readRegularFile(path: string, options: BoundedReadOptions): Promise<string> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (error) {
    if (options.noFollow && (error as NodeJS.ErrnoException).code === 'ELOOP')
      throw new UnreadableFileShape(
        'not-regular',
        'is a symbolic link; this file is written by edgeseg itself, remove the link',
      );
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new UnreadableFileShape('not-regular', `is not a regular file (${kindOf(info)})`);
    if (info.size > options.maxBytes)
      throw new UnreadableFileShape(
        'too-large',
        `is ${info.size} bytes, larger than the ${options.maxBytes} read`,
      );
    // The size may change under us: read at most one byte past the limit to notice.
    const buffer = Buffer.alloc(Math.min(options.maxBytes + 1, info.size + 1));
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > options.maxBytes)
      throw new UnreadableFileShape('too-large', `grew past ${options.maxBytes} bytes while being read`);
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

function kindOf(info: {
  isDirectory(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}): string {
  if (info.isDirectory()) return 'a folder';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'not a file';
}
