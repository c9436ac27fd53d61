// The optimised-model cache on the bundled demo model (a real FCN-8s): the first start stores the
// optimised graph, later starts load it and compute the same logits; a corrupt, stale or foreign
// entry is rebuilt; a cache that cannot be written never stops the engine.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { OnnxEngine } from '../../src/engine/onnx-engine.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const demoModel = join(repoRoot, 'models/synthetic-road-fcn8s');
const input = (() => {
  const values = new Float32Array(3 * 96 * 288);
  for (let i = 0; i < values.length; i++) values[i] = (i * 37) % 255;
  return values;
})();

interface Start {
  cache: string | undefined;
  logits: number[];
  warnings: string[];
}

async function start(cacheDir: string): Promise<Start> {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        const { msg, problem } = JSON.parse(line) as { msg: string; problem?: string };
        warnings.push(problem ? `${msg}: ${problem}` : msg);
      },
    },
  );
  const engine = new OnnxEngine(demoModel, {
    runtime: 'onnxruntime',
    executionProviders: ['cpu'],
    optimizedModelCacheDir: cacheDir,
    logger,
  });
  await engine.start();
  const logits = Array.from((await engine.run(input)) as Float32Array);
  const cache = engine.info.modelCache;
  await engine.stop();
  return { cache, logits, warnings };
}

async function onlyEntry(cacheDir: string): Promise<string> {
  const names = (await readdir(cacheDir)).filter((name) => !name.startsWith('.'));
  assert.equal(names.length, 1, `one entry in ${names.join(', ')}`);
  return join(cacheDir, names[0]!);
}

test('the first start stores the optimised model, the next loads it and computes the same logits', async () => {
  const cacheDir = join(await makeTempDir(), 'model-cache');
  const reference = new OnnxEngine(demoModel, { runtime: 'onnxruntime', executionProviders: ['cpu'] });
  await reference.start();
  const expected = Array.from((await reference.run(input)) as Float32Array);
  assert.equal(reference.info.modelCache, 'off');
  await reference.stop();

  const first = await start(cacheDir);
  assert.equal(first.cache, 'built');
  const entry = await onlyEntry(cacheDir);
  assert.deepEqual((await readdir(entry)).sort(), ['entry.json', 'model.onnx', 'weights.bin']);
  // The weights live outside the graph: that is what onnxruntime maps instead of copying.
  assert.ok((await stat(join(entry, 'weights.bin'))).size > 2_000_000);
  const second = await start(cacheDir);
  assert.equal(second.cache, 'hit');
  assert.deepEqual(second.warnings, []);
  assert.deepEqual(first.logits, expected);
  assert.deepEqual(second.logits, expected);
});

test('a corrupt, truncated or foreign cache entry is rebuilt, never loaded', async () => {
  const cacheDir = join(await makeTempDir(), 'model-cache');
  assert.equal((await start(cacheDir)).cache, 'built');
  const entry = await onlyEntry(cacheDir);
  const expected = (await start(cacheDir)).logits;
  const damage: Array<[string, () => Promise<void>, RegExp]> = [
    [
      'one weight changed',
      async () => {
        const weights = await readFile(join(entry, 'weights.bin'));
        const middle = weights.length >> 1;
        weights[middle] = weights[middle]! ^ 0x40;
        await writeFile(join(entry, 'weights.bin'), weights);
      },
      /unusable/,
    ],
    [
      'graph truncated',
      async () => {
        const graph = await readFile(join(entry, 'model.onnx'));
        await writeFile(join(entry, 'model.onnx'), graph.subarray(0, graph.length >> 1));
      },
      /unusable/,
    ],
    [
      'built by another onnxruntime',
      async () => {
        const record = JSON.parse(await readFile(join(entry, 'entry.json'), 'utf8'));
        record.key.onnxruntime = '0.0.1';
        await writeFile(join(entry, 'entry.json'), JSON.stringify(record));
      },
      /unusable/,
    ],
    ['entry.json garbage', () => writeFile(join(entry, 'entry.json'), '{"key":'), /unusable/],
  ];
  for (const [label, spoil, warning] of damage) {
    await spoil();
    const rebuilt = await start(cacheDir);
    assert.equal(rebuilt.cache, 'built', label);
    assert.match(rebuilt.warnings.join('\n'), warning, label);
    assert.deepEqual(rebuilt.logits, expected, label);
    assert.equal((await start(cacheDir)).cache, 'hit', `${label}: the rebuilt entry is used`);
  }
});

test('an entry.json that lies is never trusted: no throw, no hang, no read outside the entry', {
  timeout: 120_000,
}, async () => {
  const root = await makeTempDir();
  const cacheDir = join(root, 'model-cache');
  assert.equal((await start(cacheDir)).cache, 'built');
  const entry = await onlyEntry(cacheDir);
  const expected = (await start(cacheDir)).logits;
  // Each rebuild records its own files: change the entry.json there is now.
  type Recorded = { key: unknown; files: Array<{ name: string; bytes: number; sha256: string }> };
  const rewrite = async (change: (record: Recorded) => void) => {
    const record = JSON.parse(await readFile(join(entry, 'entry.json'), 'utf8')) as Recorded;
    change(record);
    await writeFile(join(entry, 'entry.json'), JSON.stringify(record));
  };
  const weightsOf = (record: Recorded) => record.files.find((file) => file.name === 'weights.bin')!;
  // A file outside the cache that entry.json could name by a relative path, with its real size
  // and sha256: accepting it would load whatever the name reaches.
  const outside = join(root, 'outside.bin');
  await copyFile(join(entry, 'weights.bin'), outside);
  const cases: Array<[string, () => Promise<void>, RegExp]> = [
    ['entry.json is null', () => writeFile(join(entry, 'entry.json'), 'null'), /entry\.json malformed/],
    [
      'the key is null',
      () =>
        rewrite((record) => {
          record.key = null;
        }),
      /entry\.json malformed \(key:/,
    ],
    [
      'a file named outside the entry',
      () =>
        rewrite((record) => {
          weightsOf(record).name = '../../outside.bin';
        }),
      /entry\.json malformed \(files\.\d\.name:/,
    ],
    [
      'weights.bin a symlink to a good copy elsewhere',
      async () => {
        await rm(join(entry, 'weights.bin'));
        await symlink(outside, join(entry, 'weights.bin'));
      },
      /weights\.bin is a symbolic link/,
    ],
    [
      'weights.bin a symlink to /dev/zero recorded as empty',
      async () => {
        const emptySha256 = createHash('sha256').digest('hex');
        await rewrite((record) => Object.assign(weightsOf(record), { bytes: 0, sha256: emptySha256 }));
        await rm(join(entry, 'weights.bin'));
        await symlink('/dev/zero', join(entry, 'weights.bin'));
      },
      /weights\.bin is a symbolic link/,
    ],
    [
      'entry.json a FIFO nobody writes',
      async () => {
        await rm(join(entry, 'entry.json'));
        const made = spawnSync('mkfifo', [join(entry, 'entry.json')]);
        assert.equal(made.status, 0, made.stderr?.toString());
      },
      /entry\.json is not a regular file/,
    ],
  ];
  for (const [label, spoil, problem] of cases) {
    await spoil();
    const rebuilt = await start(cacheDir);
    assert.equal(rebuilt.cache, 'built', label);
    assert.match(rebuilt.warnings.join('\n'), /entry unusable; rebuilding it/, label);
    assert.match(rebuilt.warnings.join('\n'), problem, label);
    assert.deepEqual(rebuilt.logits, expected, label);
    // The bad entry was replaced by a sound one of regular files; nothing outside was touched.
    assert.deepEqual((await readdir(entry)).sort(), ['entry.json', 'model.onnx', 'weights.bin'], label);
    for (const name of await readdir(entry)) assert.ok((await lstat(join(entry, name))).isFile(), label);
    assert.equal((await stat(outside)).size, (await stat(join(entry, 'weights.bin'))).size, label);
    assert.equal((await start(cacheDir)).cache, 'hit', `${label}: the rebuilt entry is used`);
  }
});

test('a cache folder that cannot be written leaves the engine running without a cache', async () => {
  const dir = await makeTempDir();
  const cacheDir = join(dir, 'model-cache');
  await writeFile(cacheDir, 'a file where the cache folder should be');
  const result = await start(cacheDir);
  assert.equal(result.cache, 'off');
  assert.match(result.warnings.join('\n'), /not writable/);
  assert.equal(result.logits.length, 6 * 96 * 288);
});

test('a new entry evicts all but the most recently used other one; temp folders of dead builds go', async () => {
  const cacheDir = join(await makeTempDir(), 'model-cache');
  const temps = await makeTempFolders(cacheDir);
  // Two entries of other models, used an hour and a day ago.
  for (const [name, ageS] of [
    ['older', 86400],
    ['recent', 3600],
  ] as const) {
    await mkdir(join(cacheDir, name));
    await writeFile(join(cacheDir, name, 'entry.json'), '{}');
    const when = new Date(Date.now() - ageS * 1000);
    await utimes(join(cacheDir, name, 'entry.json'), when, when);
  }
  assert.equal((await start(cacheDir)).cache, 'built');
  const names = (await readdir(cacheDir)).sort();
  assert.equal(names.length, 3, names.join(', '));
  assert.deepEqual(names.slice(0, 2), [temps.building, names[1]]);
  assert.match(names[1]!, /^bcd97e151af0-[0-9a-f]{16}$/);
  assert.equal(names[2], 'recent');
});

/**
 * Temp folders of builds, named `.tmp-<entry>-<pid>-<hex>` like the cache's own: one of a PID that
 * cannot run, one of this process's PID (a crashed build of an earlier process that had the same
 * PID, as a container's PID 1 does), one of a live process made an hour and a half ago (its PID
 * since reused), and one of a live process made just now (another process building).
 */
async function makeTempFolders(cacheDir: string) {
  const name = (pid: number) => `.tmp-bcd97e151af0-0123456789abcdef-${pid}-00ff00ff`;
  // A pid above the kernel's pid_max cannot be running; the test runner's pid is.
  const temps = {
    dead: name(4194305),
    samePid: name(process.pid),
    reused: name(process.ppid).replace('00ff00ff', '11ee11ee'),
    building: name(process.ppid),
  };
  for (const temp of Object.values(temps)) await mkdir(join(cacheDir, temp), { recursive: true });
  const longAgo = new Date(Date.now() - 90 * 60 * 1000);
  await utimes(join(cacheDir, temps.reused), longAgo, longAgo);
  return temps;
}

test('temp folders of dead builds go at every start, a cache hit too, not only after a build', async () => {
  const cacheDir = join(await makeTempDir(), 'model-cache');
  assert.equal((await start(cacheDir)).cache, 'built');
  const entry = await onlyEntry(cacheDir);
  const temps = await makeTempFolders(cacheDir);
  const hit = await start(cacheDir);
  assert.equal(hit.cache, 'hit');
  assert.deepEqual(hit.warnings, []);
  assert.deepEqual((await readdir(cacheDir)).sort(), [temps.building, basename(entry)]);
});

test("a build in progress is this process's own: a second engine starting meanwhile leaves it alone", async () => {
  const cacheDir = join(await makeTempDir(), 'model-cache');
  const first = start(cacheDir);
  // The second starts once the first is optimising into its temp folder (named with our PID).
  const deadline = performance.now() + 30_000;
  const building = async () =>
    (await readdir(cacheDir).catch(() => [] as string[])).some((name) => name.startsWith('.tmp-'));
  while (!(await building())) {
    assert.ok(performance.now() < deadline, 'the first start made no temp folder');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const [one, two] = await Promise.all([first, start(cacheDir)]);
  assert.deepEqual([one.cache, two.cache], ['built', 'built']);
  assert.deepEqual([...one.warnings, ...two.warnings], []);
  assert.deepEqual(one.logits, two.logits);
  await onlyEntry(cacheDir);
  assert.deepEqual(
    (await readdir(cacheDir)).filter((name) => name.startsWith('.tmp-')),
    [],
  );
});
