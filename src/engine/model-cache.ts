// The optimised-model cache (CPU provider). Creating a session for the full-size FCN-8s spends most
// of its time and memory optimising the graph (peak 2.3 GB against 0.8 GB steady). The first start
// has onnxruntime save the optimised graph with its weights in a separate file; later starts load
// that with optimisation off, and onnxruntime maps the weights file instead of copying it: the start
// takes a fraction of the time and its peak is the steady memory.
//
// An entry is a folder named by a hash of everything the optimised graph depends on (the model's
// sha256, the onnxruntime build, the CPU, the provider and optimisation level). It is written under
// a temp name and renamed into place, and its files' sha256 are recorded and checked before use, so
// a torn, corrupt or foreign entry is rebuilt, never loaded. The cache never makes a start fail.

import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type ort from 'onnxruntime-node';
import { z } from 'zod';
import { errorMessage } from '../system/errors.js';
import { fsyncDirectory, fsyncFile, sha256File, writeFileAtomic } from '../system/fs.js';
import type { Logger } from '../system/log.js';
import { describeSystemError } from '../system/os-errors.js';
import { isProcessAlive } from '../system/pid.js';
import { createSession, onnxRuntimeVersion, ortPackageDir, type RestampCache } from './ort-binding.js';

const GRAPH_FILE = 'model.onnx';
const WEIGHTS_FILE = 'weights.bin';
const ENTRY_FILE = 'entry.json';
const FORMAT = 1;
/** Entries kept (most recently used first); each is about the size of the model. */
export const MODEL_CACHE_ENTRIES = 2;

type SessionOptions = ort.InferenceSession.SessionOptions;

export interface CacheKey {
  format: number;
  modelSha256: string;
  onnxruntime: string;
  /** Size and time of the native onnxruntime files: a board's own build replaces them. */
  nativeBuild: string;
  /** The optimised graph holds kernels and weight layouts chosen for this CPU. */
  cpu: string;
  provider: 'cpu';
  optimization: 'all';
}

export interface CachedSession {
  session: ort.InferenceSession;
  modelCache: 'hit' | 'built' | 'off';
}

let nativeBuildId: Promise<string> | undefined;

/** Names, sizes and times of the files in onnxruntime-node's native folder for this platform. */
function nativeBuild(): Promise<string> {
  nativeBuildId ??= (async () => {
    try {
      const bin = join(ortPackageDir, 'bin', 'napi-v6', process.platform, process.arch);
      const names = (await readdir(bin)).sort();
      const parts: string[] = [];
      for (const name of names) {
        const info = await stat(join(bin, name));
        parts.push(`${name}:${info.size}:${Math.round(info.mtimeMs)}`);
      }
      return parts.join(',');
    } catch {
      return 'unknown';
    }
  })();
  return nativeBuildId;
}

export async function cacheKey(modelSha256: string): Promise<CacheKey> {
  return {
    format: FORMAT,
    modelSha256,
    onnxruntime: onnxRuntimeVersion,
    nativeBuild: await nativeBuild(),
    cpu: `${process.arch} ${cpus()[0]?.model ?? 'unknown'}`,
    provider: 'cpu',
    optimization: 'all',
  };
}

/** `<first 12 hex of the model sha256>-<first 16 hex of the key's hash>`. */
export function entryName(key: CacheKey): string {
  const digest = createHash('sha256').update(JSON.stringify(key)).digest('hex');
  return `${key.modelSha256.slice(0, 12)}-${digest.slice(0, 16)}`;
}

/** The file names an entry may list: the ones commitEntry writes, nothing else. */
const CACHED_FILE_NAMES = [GRAPH_FILE, WEIGHTS_FILE] as const;
/** entry.json holds a key and two file records; anything larger is not ours. */
const ENTRY_FILE_MAX_BYTES = 64 * 1024;

// entry.json is read back from disk, where anything may have been left: parsed, not trusted.
const cacheEntrySchema = z
  .strictObject({
    key: z.strictObject({
      format: z.number(),
      modelSha256: z.string(),
      onnxruntime: z.string(),
      nativeBuild: z.string(),
      cpu: z.string(),
      provider: z.literal('cpu'),
      optimization: z.literal('all'),
    }),
    files: z
      .array(
        z.strictObject({
          name: z.enum(CACHED_FILE_NAMES),
          bytes: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
        }),
      )
      .max(CACHED_FILE_NAMES.length),
  })
  .refine((entry) => new Set(entry.files.map((file) => file.name)).size === entry.files.length, {
    message: 'a file is listed twice',
  })
  .refine((entry) => entry.files.some((file) => file.name === GRAPH_FILE), {
    message: `lists no ${GRAPH_FILE}`,
  });

type CacheEntry = z.infer<typeof cacheEntrySchema>;
type CachedFile = CacheEntry['files'][number];

function sameKey(recorded: CacheKey, key: CacheKey): boolean {
  return (Object.keys(key) as Array<keyof CacheKey>).every((name) => recorded[name] === key[name]);
}

type OpenedFile = { handle: FileHandle; size: number } | { handle?: undefined; problem: string };

/**
 * Opens a regular file of an entry without following a symlink (to /dev/zero, to a file
 * elsewhere) or waiting on a FIFO; anything else comes back as a problem.
 */
async function openRegularFile(path: string): Promise<OpenedFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ELOOP' ? 'is a symbolic link' : `unreadable (${errorMessage(error)})` };
  }
  const info = await handle.stat().catch(() => undefined);
  if (!info?.isFile()) {
    await handle.close();
    return { problem: 'is not a regular file' };
  }
  return { handle, size: info.size };
}

/** Why the recorded file cannot be used, or undefined when its size and sha256 match. */
async function fileProblem(dir: string, file: CachedFile): Promise<string | undefined> {
  const opened = await openRegularFile(join(dir, file.name));
  if (!opened.handle) return opened.problem;
  const { handle } = opened;
  try {
    if (opened.size !== file.bytes) return 'has the wrong size';
    // Never more than the recorded size is read. Reading the weights also brings them into the
    // page cache that onnxruntime then maps.
    const hash = createHash('sha256');
    if (file.bytes > 0)
      for await (const chunk of handle.createReadStream({ start: 0, end: file.bytes - 1, autoClose: false }))
        hash.update(chunk as Buffer);
    return hash.digest('hex') === file.sha256 ? undefined : 'is corrupt (sha256 differs)';
  } finally {
    await handle.close();
  }
}

/** Why the entry cannot be used ('missing' when there is none), or undefined when it is intact. */
async function inspectEntry(dir: string, key: CacheKey): Promise<string | undefined> {
  try {
    if (!(await lstat(dir)).isDirectory()) return 'not a folder';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  const opened = await openRegularFile(join(dir, ENTRY_FILE));
  if (!opened.handle) return `${ENTRY_FILE} ${opened.problem}`;
  let text: string;
  try {
    if (opened.size > ENTRY_FILE_MAX_BYTES) return `${ENTRY_FILE} is too large (${opened.size} bytes)`;
    text = await opened.handle.readFile('utf8');
  } finally {
    await opened.handle.close();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `${ENTRY_FILE} unreadable (${errorMessage(error)})`;
  }
  const parsed = cacheEntrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `${ENTRY_FILE} malformed (${issue?.path.join('.') || 'entry'}: ${issue?.message})`;
  }
  if (!sameKey(parsed.data.key, key)) return 'built for another model or onnxruntime';
  for (const file of parsed.data.files) {
    const fileIssue = await fileProblem(dir, file);
    if (fileIssue) return `${file.name} ${fileIssue}`;
  }
  return undefined;
}

/** inspectEntry, whose every failure is a reason to rebuild: the cache never makes a start fail. */
async function entryProblem(dir: string, key: CacheKey): Promise<string | undefined> {
  try {
    return await inspectEntry(dir, key);
  } catch (error) {
    return `unreadable (${errorMessage(error)})`;
  }
}

/** Records the files' sha256 and renames the finished temp folder into place. */
async function commitEntry(temp: string, dir: string, key: CacheKey): Promise<void> {
  const files: CachedFile[] = [];
  for (const name of CACHED_FILE_NAMES) {
    const path = join(temp, name);
    let bytes: number;
    try {
      bytes = (await stat(path)).size;
    } catch {
      if (name === GRAPH_FILE) throw new Error(`onnxruntime wrote no ${GRAPH_FILE}`);
      continue; // a model whose initializers are all tiny keeps them inside the graph
    }
    files.push({ name, bytes, sha256: await sha256File(path) });
  }
  // writeFileAtomic fsyncs entry.json; the weights were written by onnxruntime: fsync them too.
  for (const file of files) await fsyncFile(join(temp, file.name));
  await writeFileAtomic(
    join(temp, ENTRY_FILE),
    `${JSON.stringify({ key, files } satisfies CacheEntry, null, 2)}\n`,
  );
  try {
    await rename(temp, dir);
  } catch (error) {
    // Another process finished the same entry first: keep theirs.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    await rm(temp, { recursive: true, force: true });
  }
  await fsyncDirectory(dirname(dir));
}

/** Temp folders this process is building right now: the only ones it knows to be in use. */
const buildsInProgress = new Set<string>();
/**
 * Another live process's temp folder older than this is taken as abandoned: its PID was reused
 * (systemd, containers) by a process that is not building anything. A build takes minutes.
 */
const ABANDONED_BUILD_MS = 60 * 60 * 1000;
const TEMP_NAME = /^\.tmp-.*-(\d+)-[0-9a-f]+$/;

/** True when nobody can still be writing the temp folder at `path`, named with `pid`. */
async function isAbandonedBuild(path: string, pid: number): Promise<boolean> {
  if (buildsInProgress.has(path)) return false;
  // Our PID but not one of our builds: an earlier process with the same PID (a container's PID 1).
  if (pid === process.pid || !isProcessAlive(pid)) return true;
  try {
    // Wall-clock times on both sides; a clock stepped either way by more than this also counts.
    return Math.abs(Date.now() - (await lstat(path)).mtimeMs) > ABANDONED_BUILD_MS;
  } catch {
    return false; // gone already
  }
}

/** Removes the temp folders of builds that died (a crash, a power cut) before they were renamed. */
async function removeAbandonedBuilds(cacheDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch {
    return; // no cache folder yet, or not one: the build step reports that
  }
  for (const name of names) {
    const temp = TEMP_NAME.exec(name);
    const path = join(cacheDir, name);
    if (temp && (await isAbandonedBuild(path, Number(temp[1]))))
      await rm(path, { recursive: true, force: true }).catch(() => {});
  }
}

/** Keeps the most recently used entries and removes temp folders of builds that died. */
export async function pruneCache(cacheDir: string, keep = MODEL_CACHE_ENTRIES): Promise<void> {
  await removeAbandonedBuilds(cacheDir);
  const entries: Array<{ path: string; usedMs: number }> = [];
  for (const name of await readdir(cacheDir)) {
    if (TEMP_NAME.test(name)) continue;
    const path = join(cacheDir, name);
    try {
      entries.push({ path, usedMs: (await stat(join(path, ENTRY_FILE))).mtimeMs });
    } catch {
      // not an entry (or a broken one): an entry lookup removes broken ones by name
    }
  }
  entries.sort((a, b) => b.usedMs - a.usedMs);
  for (const stale of entries.slice(keep)) await rm(stale.path, { recursive: true, force: true });
}

/**
 * A CPU session for `onnxPath`, through the cache in `cacheDir` when given. `options` are the
 * session options as they would be without a cache (optimisation level 'all').
 */
export async function createCachedCpuSession(
  onnxPath: string,
  modelSha256: string,
  options: SessionOptions,
  cacheDir: string | undefined,
  logger: Logger,
  restamp?: RestampCache,
): Promise<CachedSession> {
  // Every session goes through ort-binding, which adapts older onnxruntime-node releases.
  const create = (path: string, sessionOptions: SessionOptions) =>
    createSession(path, sessionOptions, path === onnxPath ? restamp : undefined);
  if (!cacheDir) return { session: await create(onnxPath, options), modelCache: 'off' };
  // Every use, hit or not: a build that died must not hold its disk space until the next one.
  await removeAbandonedBuilds(cacheDir);
  const key = await cacheKey(modelSha256);
  const dir = join(cacheDir, entryName(key));
  const problem = await entryProblem(dir, key);
  if (problem === undefined) {
    try {
      const session = await create(join(dir, GRAPH_FILE), { ...options, graphOptimizationLevel: 'disabled' });
      const now = new Date();
      await utimes(join(dir, ENTRY_FILE), now, now).catch(() => {});
      logger.info({ cache: dir }, 'loaded the optimised model from the cache');
      return { session, modelCache: 'hit' };
    } catch (error) {
      logger.warn(
        { cache: dir, err: errorMessage(error) },
        'cached optimised model failed to load; rebuilding it',
      );
    }
  } else if (problem !== 'missing') {
    logger.warn({ cache: dir, problem }, 'optimised-model cache entry unusable; rebuilding it');
  }
  const temp = join(cacheDir, `.tmp-${entryName(key)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  // Marked as ours for its whole life: removeAbandonedBuilds (here or in another call) skips it.
  buildsInProgress.add(temp);
  try {
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(temp, { recursive: true });
    } catch (error) {
      logger.warn(
        { cache: cacheDir, err: describeSystemError(error) ?? errorMessage(error) },
        'optimised-model cache not writable; not caching',
      );
      return { session: await create(onnxPath, options), modelCache: 'off' };
    }
    let session: ort.InferenceSession;
    try {
      session = await create(onnxPath, {
        ...options,
        optimizedModelFilePath: join(temp, GRAPH_FILE),
        extra: {
          ...(options.extra as Record<string, string> | undefined),
          'session.optimized_model_external_initializers_file_name': WEIGHTS_FILE,
          'session.optimized_model_external_initializers_min_size_in_bytes': '1024',
        },
      });
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      // Saving may be what failed (disk full): without the cache, a bad model still fails here.
      logger.warn(
        { cache: cacheDir, err: describeSystemError(error) ?? errorMessage(error) },
        'could not build the optimised model; not caching',
      );
      return { session: await create(onnxPath, options), modelCache: 'off' };
    }
    try {
      await commitEntry(temp, dir, key);
      await pruneCache(cacheDir);
      logger.info({ cache: dir }, 'stored the optimised model in the cache');
    } catch (error) {
      await rm(temp, { recursive: true, force: true }).catch(() => {});
      logger.warn(
        { cache: cacheDir, err: describeSystemError(error) ?? errorMessage(error) },
        'could not store the optimised model',
      );
    }
    return { session, modelCache: 'built' };
  } finally {
    buildsInProgress.delete(temp);
  }
}
