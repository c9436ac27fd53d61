// The operating system as a user: a read-only folder, a full disk, a closed stdout, too many open
// files. Turns Node's system errors into one line naming the path and the cause (docs/cli.md).

import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a person should read for each errno a user can cause or meet, with what to do about it. */
const CAUSES: Record<string, string> = {
  EROFS: 'the file system is read-only; choose a folder on a writable disk',
  ENOSPC: 'no space left on the device; free some space or choose another disk',
  EDQUOT: 'disk quota exceeded; free some space or choose another disk',
  EACCES: 'permission denied; choose a folder you may write to, or fix its owner or mode',
  EPERM: 'operation not permitted; choose a folder you may write to, or fix its owner or mode',
  EEXIST: 'already exists; choose another path or remove it',
  ENOTDIR: 'a part of the path is a file, not a folder; choose another path',
  EISDIR: 'is a folder where a file was expected; give a file path',
  ENOENT: 'no such file or folder',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links in the path',
  EMFILE: 'too many open files in this process; raise the limit (ulimit -n) or give fewer inputs at once',
  ENFILE: 'too many open files on this system; close other programs or raise fs.file-max',
  EBUSY: 'the file or folder is busy (in use by another program)',
  ETXTBSY: 'the file is busy (in use by another program)',
  EXDEV: 'cannot move across file systems; choose a path on the same disk',
  EIO: 'input/output error: the disk or card may be failing',
  EFBIG: 'the file is too large for this file system',
  ENOTEMPTY: 'the folder is not empty',
  EPIPE: 'the reader closed the pipe',
};

const ACTIONS: Record<string, string> = {
  mkdir: 'cannot create folder',
  open: 'cannot open',
  write: 'cannot write',
  close: 'cannot write',
  fsync: 'cannot write',
  copyfile: 'cannot copy to',
  rename: 'cannot move into place',
  unlink: 'cannot remove',
  rmdir: 'cannot remove',
  rm: 'cannot remove',
  scandir: 'cannot list',
  opendir: 'cannot list',
  read: 'cannot read',
  stat: 'cannot read',
  lstat: 'cannot read',
  access: 'cannot use',
  symlink: 'cannot create',
  link: 'cannot create',
  utime: 'cannot write',
  chmod: 'cannot change',
};

/** A Node system error (it has an errno code) found in `error` or its chain of causes. */
export function findSystemError(error: unknown): NodeJS.ErrnoException | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && Object.hasOwn(CAUSES, code)) return current as NodeJS.ErrnoException;
    current = current.cause;
  }
  return undefined;
}

/**
 * One line for a system error a user can cause or meet ("cannot write /ro/a.jpg: the file system is
 * read-only; ... (EROFS)"), or undefined when it is not one (a bug, which keeps its stack).
 */
export function describeSystemError(error: unknown): string | undefined {
  const found = findSystemError(error);
  if (!found) return undefined;
  let code = found.code!;
  const syscall = found.syscall ?? '';
  const dest = (found as { dest?: unknown }).dest;
  const path = typeof dest === 'string' && syscall === 'rename' ? dest : found.path;
  // mkdir -p on a read-only or unwritable parent reports ENOENT (libuv walks back up and gives the
  // first error it saw); ask the nearest folder that exists what the real cause is.
  if (code === 'ENOENT' && syscall === 'mkdir' && path) code = mkdirCause(path) ?? code;
  const action = ACTIONS[syscall] ?? 'cannot use';
  const cause =
    code === 'EEXIST' && syscall === 'mkdir'
      ? 'exists and is not a folder; choose a folder path'
      : CAUSES[code]!;
  if (!path) return `${syscall ? `${syscall}: ` : ''}${cause} (${code})`;
  return `${action} ${path}: ${cause} (${code})`;
}

/** Gives a system error that names no path (write, fsync on a handle) the path it was writing. */
export function withPath(error: unknown, path: string): unknown {
  const found = findSystemError(error);
  if (found && found.path === undefined) found.path = path;
  return error;
}

/** Only the cause of a system error ("the file system is read-only; ... (EROFS)"), for a caller that names the path. */
export function describeSystemCause(error: unknown): string | undefined {
  const code = findSystemError(error)?.code;
  return code ? `${CAUSES[code]} (${code})` : undefined;
}

/** The errno that explains why `mkdir -p path` failed with ENOENT, from its nearest existing ancestor. */
function mkdirCause(path: string): string | undefined {
  let folder = dirname(path);
  for (let depth = 0; depth < 64; depth++) {
    try {
      if (!statSync(folder).isDirectory()) return 'ENOTDIR';
      accessSync(folder, constants.W_OK);
      return undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return code;
    }
    const parent = dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
  }
  return undefined;
}
