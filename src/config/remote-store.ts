// The remote changes accepted over MQTT, persisted under state_dir as remote-config.json. Writes
// are atomic; temp files a crash left behind are removed at start; a persisted change that fails
// (invalid, locked, a model or source that will not start) is set aside under a timestamped name,
// so the daemon starts from the local file instead of failing for ever.

import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFile, UnreadableFileShape } from '../system/bounded-read.js';
import { errorMessage } from '../system/errors.js';
import { writeFileAtomic } from '../system/fs.js';
import { isPlainObject } from './merge.js';
import type { ConfigPatch } from './policy.js';

export const REMOTE_CONFIG_FILE = 'remote-config.json';
const REJECTED_PREFIX = 'remote-config.rejected-';
/** Rejected files kept for the operator to read; older ones are removed. */
const REJECTED_KEPT = 5;
/** Persisted patches larger than this are not read (a request is at most 1 MiB). */
const MAX_FILE_BYTES = 1_048_576;

/** A persisted change that was set aside, as status and health report it. */
export interface RejectedRemoteConfig {
  file: string;
  reason: string;
  at: string;
}

/**
 * The persisted patch, or why it cannot be used; `inPlace` when the path is not a file we wrote
 * (a link, a device): it is left where it is, since renaming it would only move the link.
 */
export type ReadResult = { patch: ConfigPatch } | { problem: string; inPlace?: boolean };

export class RemoteConfigStore {
  readonly path: string;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, REMOTE_CONFIG_FILE);
  }

  /** The persisted patch ({} when there is none), or why it cannot be used. */
  async read(): Promise<ReadResult> {
    let text: string;
    try {
      // Only ever written by rename from writeFileAtomic: a link here was put by someone else.
      text = await readRegularFile(this.path, { maxBytes: MAX_FILE_BYTES, noFollow: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { patch: {} };
      if (error instanceof UnreadableFileShape)
        return { problem: error.problem, ...(error.kind === 'not-regular' ? { inPlace: true } : {}) };
      return { problem: `cannot read it: ${errorMessage(error)}` };
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (!isPlainObject(parsed)) return { problem: 'not a JSON object' };
      return { patch: parsed };
    } catch (error) {
      return { problem: `not valid JSON: ${errorMessage(error)}` };
    }
  }

  async write(patch: ConfigPatch): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(patch, null, 2)}\n`);
  }

  /**
   * Renames the persisted file aside (remote-config.rejected-<time>.json) and says so; `inPlace`
   * leaves it where it is (a link or device: the next accepted change replaces it).
   */
  async setAside(reason: string, options: { inPlace?: boolean } = {}): Promise<RejectedRemoteConfig> {
    const at = new Date().toISOString();
    if (options.inPlace) return { file: this.path, reason, at };
    const file = join(this.stateDir, `${REJECTED_PREFIX}${at.replace(/[:.]/g, '-')}.json`);
    try {
      await rename(this.path, file);
    } catch (error) {
      // Cannot rename (e.g. read-only): removing it is the only way not to fail at every start.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') await rm(this.path, { force: true });
    }
    await this.pruneRejected();
    return { file, reason, at };
  }

  /** Puts a set-aside file back (when the local config fails too: the remote was not at fault). */
  async restore(rejected: RejectedRemoteConfig): Promise<void> {
    await rename(rejected.file, this.path).catch(() => {});
  }

  /** Removes temp files of interrupted writes (a SIGKILL between write and rename). */
  async removeStaleTempFiles(): Promise<number> {
    const entries = await readdir(this.stateDir).catch(() => [] as string[]);
    const stale = entries.filter(
      (name) => name.startsWith(`.${REMOTE_CONFIG_FILE}.`) && name.endsWith('.tmp'),
    );
    await Promise.all(stale.map((name) => rm(join(this.stateDir, name), { force: true })));
    return stale.length;
  }

  private async pruneRejected(): Promise<void> {
    const entries = await readdir(this.stateDir).catch(() => [] as string[]);
    const rejected = entries.filter((name) => name.startsWith(REJECTED_PREFIX)).sort();
    const old = rejected.slice(0, Math.max(0, rejected.length - REJECTED_KEPT));
    await Promise.all(old.map((name) => rm(join(this.stateDir, name), { force: true })));
  }
}
