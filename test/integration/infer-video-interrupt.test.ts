// `edgeseg infer --out result.mp4` stopped by the user, as a user runs it: Ctrl-C (SIGINT to it, or
// to its whole process group as a terminal sends it) or SIGTERM while the video is being written
// leaves no partial file and no encoder behind and exits 130 or 143; an --out that is an existing
// folder is refused before any work; partial files that killed runs left are removed.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { runCli, startCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { FAST_H264, makeLavfiVideo } from '../helpers/video.js';

const root = await makeTempDir('edgeseg-infer-interrupt-');
const modelDir = join(root, 'stripes-model');
await writeFixtureModelDir(modelDir, { height: 32, width: 64, output: 'probabilities' });
// A moving test pattern, long enough that the run is still writing when it is stopped.
const long = join(root, 'long.mp4');
makeLavfiVideo(long, 'testsrc2=size=320x180:rate=25', 40, FAST_H264);
const short = join(root, 'short.mp4');
makeLavfiVideo(short, 'testsrc2=size=160x90:rate=10', 1);

const inferArgs = (input: string, out: string) => [
  'infer',
  '--model',
  modelDir,
  '--no-progress',
  '--input',
  input,
  '--out',
  out,
];

/** Waits until the only file in `dir` is a partial video of at least 10 kB; returns its name. */
async function partialWritten(dir: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const names = await readdir(dir);
    if (names.length === 1 && names[0]!.startsWith('.result.mp4.partial-')) {
      if ((await stat(join(dir, names[0]!))).size >= 10_000) return names[0]!;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no partial video appeared in ${dir}: ${(await readdir(dir)).join(', ')}`);
}

function encoderRunning(dir: string): boolean {
  return spawnSync('pgrep', ['-f', `file:${dir}/.result.mp4.partial-`]).status === 0;
}

for (const [how, signal, code, group] of [
  ['Ctrl-C (SIGINT to the process)', 'SIGINT', 130, false],
  ['Ctrl-C in a terminal (SIGINT to the process group)', 'SIGINT', 130, true],
  ['SIGTERM', 'SIGTERM', 143, false],
] as const) {
  test(`${how} while the video is written removes the partial file and exits ${code}`, {
    timeout: 120_000,
  }, async () => {
    const dir = join(root, `stopped-${signal}-${group ? 'group' : 'process'}`);
    await mkdir(dir);
    const out = join(dir, 'result.mp4');
    const run = startCli(inferArgs(long, out), { detached: group });
    await partialWritten(dir);
    assert.ok(encoderRunning(dir), 'the encoder is running');
    process.kill(group ? -run.child.pid! : run.child.pid!, signal);
    const stopped = await run.result;
    assert.equal(stopped.code, code, stopped.stderr);
    assert.match(
      stopped.stderr,
      new RegExp(
        `stopped by ${signal}: the unfinished video was removed, nothing was written to .*result\\.mp4`,
      ),
    );
    assert.doesNotMatch(stopped.stderr, /internal error/);
    assert.deepEqual(await readdir(dir), []);
    assert.equal(encoderRunning(dir), false, 'the encoder was left running');
  });
}

test('an --out that is an existing folder is refused before any work, naming it', async () => {
  const folder = join(root, 'already-a-folder.mp4');
  await mkdir(folder);
  const result = await runCli(inferArgs(long, folder));
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /already-a-folder\.mp4: is a folder, so the video cannot be written under this name/,
  );
  assert.deepEqual(await readdir(folder), []);
  assert.doesNotMatch(result.stderr, /EISDIR|cannot move the finished video/);
  assert.deepEqual(
    (await readdir(root)).filter((name) => name.includes('partial')),
    [],
  );
  // Checked before any work: before the model is even looked at.
  const args = inferArgs(long, folder);
  args[2] = join(root, 'no-such-model');
  const beforeModel = await runCli(args);
  assert.equal(beforeModel.code, 1);
  assert.match(beforeModel.stderr, /already-a-folder\.mp4: is a folder/);
});

test('partial files of the same target left by dead processes are removed when it is written', async () => {
  const dir = join(root, 'stale');
  await mkdir(dir);
  // A PID above the kernel's pid_max cannot be running; this test's own process is.
  const dead = '.result.mp4.partial-4194305-00ff00ff';
  const live = `.result.mp4.partial-${process.pid}-00ff00ff`;
  const otherTarget = '.other.mp4.partial-4194305-00ff00ff';
  for (const name of [dead, live, otherTarget]) await writeFile(join(dir, name), 'left behind');
  const result = await runCli(inferArgs(short, join(dir, 'result.mp4')));
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readdir(dir)).sort(), [otherTarget, live, 'result.mp4'].sort());
});
