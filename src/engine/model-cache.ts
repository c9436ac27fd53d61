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
import { mkdir, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type ort from 'onnxruntime-node';
import { errorMessage } from '../system/errors.js';
import { fsyncDirectory, fsyncFile, sha256File, writeFileAtomic } from '../system/fs.js';
import type { Logger } from '../system/log.js';
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

interface CachedFile {
  name: string;
  bytes: number;
  sha256: string;
}

interface CacheEntry {
  key: CacheKey;
  files: CachedFile[];
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

/** Why the entry cannot be used ('missing' when there is none), or undefined when it is intact. */
async function entryProblem(dir: string, key: CacheKey): Promise<string | undefined> {
  let entry: CacheEntry;
  try {
    await stat(dir);
  } catch {
    return 'missing';
  }
  try {
    entry = JSON.parse(await readFile(join(dir, ENTRY_FILE), 'utf8')) as CacheEntry;
  } catch (error) {
    return `${ENTRY_FILE} unreadable (${errorMessage(error)})`;
  }
  if (JSON.stringify(entry.key) !== JSON.stringify(key)) return 'built for another model or onnxruntime';
  if (!Array.isArray(entry.files) || !entry.files.some((file) => file.name === GRAPH_FILE))
    return `${ENTRY_FILE} lists no ${GRAPH_FILE}`;
  for (const file of entry.files) {
    const path = join(dir, file.name);
    try {
      if ((await stat(path)).size !== file.bytes) return `${file.name} has the wrong size`;
      // Reading the weights also brings them into the page cache that onnxruntime then maps.
      if ((await sha256File(path)) !== file.sha256) return `${file.name} is corrupt (sha256 differs)`;
    } catch (error) {
      return `${file.name} unreadable (${errorMessage(error)})`;
    }
  }
  return undefined;
}

/** Records the files' sha256 and renames the finished temp folder into place. */
async function commitEntry(temp: string, dir: string, key: CacheKey): Promise<void> {
  const files: CachedFile[] = [];
  for (const name of [GRAPH_FILE, WEIGHTS_FILE]) {
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Keeps the most recently used entries and removes temp folders of builds that died. */
export async function pruneCache(cacheDir: string, keep = MODEL_CACHE_ENTRIES): Promise<void> {
  const entries: Array<{ path: string; usedMs: number }> = [];
  for (const name of await readdir(cacheDir)) {
    const path = join(cacheDir, name);
    const temp = /^\.tmp-.*-(\d+)-[0-9a-f]+$/.exec(name);
    if (temp) {
      if (!isAlive(Number(temp[1]))) await rm(path, { recursive: true, force: true });
      continue;
    }
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
  try {
    await rm(dir, { recursive: true, force: true });
    await mkdir(temp, { recursive: true });
  } catch (error) {
    logger.warn(
      { cache: cacheDir, err: errorMessage(error) },
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
      { cache: cacheDir, err: errorMessage(error) },
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
    logger.warn({ cache: cacheDir, err: errorMessage(error) }, 'could not store the optimised model');
  }
  return { session, modelCache: 'built' };
}
