// The operating system's refusals through the real CLI: a read-only file system (a tmpfs mounted
// read-only: tests run as root, so chmod would not stop them), a full disk (a 300 KB tmpfs), stdout
// on /dev/full or closed, EEXIST, EACCES (the CLI run as nobody) and EMFILE. Each is one line naming
// the path and the cause, exit 1 (a closed stdout: silent, 141), no stack trace.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportTree } from '../../src/data/export-tree.js';
import { type CliResult, cliNodeArgs, repoRoot, runCli } from '../helpers/cli.js';
import { makeSuiteDir } from '../helpers/tmp.js';

const DEMO_MODEL = join(repoRoot, 'models', 'synthetic-road-fcn8s');
let suite: { dir: string; remove(): Promise<void> };
let readOnly: string;
let full: string;
let images: string;
let checkpoint: string;

function mount(target: string, options: string): void {
  mkdirSync(target, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target], { encoding: 'utf8' });
  assert.equal(result.status, 0, `mount ${target}: ${result.stderr}`);
}

/** Fills the small tmpfs but for a few kilobytes: an empty file still fits, a picture does not. */
function fillDisk(): void {
  spawnSync('sh', ['-c', `rm -rf ${full}/* && head -c 290000 /dev/zero > ${full}/filler`]);
}

before(async () => {
  suite = await makeSuiteDir('edgeseg-os-');
  readOnly = join(suite.dir, 'ro');
  full = join(suite.dir, 'full');
  mount(readOnly, 'ro,size=64k');
  mount(full, 'size=300k');
  const tree = await exportTree({
    format: 'kitti',
    outDir: join(suite.dir, 'kitti'),
    count: 3,
    size: { height: 64, width: 192 },
    seed: 0,
  });
  images = join(tree.dataDir, 'training', 'image_2');
  checkpoint = join(suite.dir, 'ckpt');
  const init = await runCli([
    'model',
    'init',
    '--classes',
    '2',
    '--size',
    '64x96',
    '--width',
    '0.0625',
    '--out',
    checkpoint,
  ]);
  assert.equal(init.code, 0, init.stderr);
});

after(async () => {
  for (const target of [readOnly, full]) spawnSync('umount', [target]);
  await suite.remove();
});

/** Exit 1 and a last stderr line matching `message`; no stack trace, no "internal error". */
function assertOneLine(result: CliResult, message: RegExp, what: string): void {
  assert.equal(result.code, 1, `${what}: exit ${result.code}\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /internal error|\n\s+at |Unhandled/, what);
  const lines = result.stderr.trim().split('\n');
  assert.match(lines.at(-1)!, message, what);
}

test('a read-only file system: every command that writes names the flag, the path and EROFS, at once', async () => {
  const ro = readOnly.replaceAll('/', '\\/');
  const cases: Array<[string[], RegExp]> = [
    [
      ['infer', '--model', DEMO_MODEL, '--input', images, '--out', join(readOnly, 'out')],
      new RegExp(
        `^edgeseg: --out: cannot create folder ${ro}/out: the file system is read-only; .*\\(EROFS\\)$`,
      ),
    ],
    [
      ['infer', '--model', DEMO_MODEL, '--input', images, '--out', readOnly],
      new RegExp(`^edgeseg: --out: cannot write in ${ro}: the file system is read-only; .*\\(EROFS\\)$`),
    ],
    [
      ['export', checkpoint, '--out', join(readOnly, 'model')],
      /^edgeseg: --out: cannot write in .*\(EROFS\)$/,
    ],
    [
      ['train', '--data-source', 'synthetic-road', '--out', join(readOnly, 'run')],
      new RegExp(`^edgeseg: --out: cannot create folder ${ro}/run: .*\\(EROFS\\)$`),
    ],
    [
      [
        'check-data',
        '--data-source',
        'synthetic-road',
        '--num-training',
        '2',
        '--num-validation',
        '1',
        '--previews',
        join(readOnly, 'p'),
      ],
      /^edgeseg: --previews: cannot create folder .*\(EROFS\)$/,
    ],
    [
      ['quantize', DEMO_MODEL, '--out', join(readOnly, 'int8')],
      /^edgeseg: --out: cannot write in .*\(EROFS\)$/,
    ],
    [
      ['models', 'install', DEMO_MODEL, '--models-dir', join(readOnly, 'models')],
      /^edgeseg: --models-dir: cannot create folder .*\(EROFS\)$/,
    ],
    [['models', 'manifest', join(DEMO_MODEL, 'model.onnx'), '--out', join(readOnly, 'm.json')], /\(EROFS\)$/],
    [
      ['data', 'export', '--out', join(readOnly, 'tree')],
      /^edgeseg: --out: cannot create folder .*\(EROFS\)$/,
    ],
    [
      ['upscale', join(images, 'um_000000.png'), join(readOnly, 'big.png')],
      /^edgeseg: <out>: cannot write in .*\(EROFS\)$/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args, { timeoutMs: 90_000 });
    assertOneLine(result, message, args.slice(0, 2).join(' '));
    // Checked before the slow part: quantize never started calibrating.
    assert.doesNotMatch(result.stderr, /calibrat/i, args[0]);
  }
});

test('a full disk: infer names the file it could not write; export and train refuse before they start', async () => {
  fillDisk();
  const infer = await runCli(['infer', '--model', DEMO_MODEL, '--input', images, '--out', join(full, 'inf')]);
  assertOneLine(
    infer,
    /^edgeseg: cannot write .*\/inf\/\w+\.(overlay\.jpg|mask\.png|json): no space left on the device; .*\(ENOSPC\)$/,
    'infer',
  );

  const exported = await runCli(['export', checkpoint, '--out', join(full, 'model')]);
  assertOneLine(
    exported,
    /^edgeseg: --out: .* has 0\.\d\d MB free, the output needs about \d+\.\d\d MB; .*\(ENOSPC\)$/,
    'export',
  );
  assert.equal(existsSync(join(full, 'model')), false);

  const trained = await runCli([
    'train',
    '--data-source',
    'synthetic-road',
    '--size',
    '32x32',
    '--width',
    '0.0625',
    '--num-training',
    '2',
    '--num-validation',
    '1',
    '--epochs',
    '1',
    '--out',
    join(full, 'run'),
  ]);
  assertOneLine(
    trained,
    /^edgeseg: --out: .*\/run has 0\.\d\d MB free, the output needs about \d+\.\d\d MB; .*\(ENOSPC\)$/,
    'train',
  );
  assert.equal(existsSync(join(full, 'run', 'checkpoints')), false, 'train ran an epoch before it said so');
});

test('a path that exists and is not a folder: infer --out /dev/full is EEXIST, named', async () => {
  const result = await runCli(['infer', '--model', DEMO_MODEL, '--input', images, '--out', '/dev/full']);
  assertOneLine(
    result,
    /^edgeseg: --out: cannot create folder \/dev\/full: exists and is not a folder; choose a folder path \(EEXIST\)$/,
    'infer',
  );
});

/** Runs the CLI with stdout on `stdout` (a file descriptor or a pipe closed at once). */
function runWithStdout(args: string[], stdout: number | 'closed'): Promise<CliResult> {
  const child = spawn(process.execPath, [...cliNodeArgs(), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', stdout === 'closed' ? 'pipe' : stdout, 'pipe'],
  });
  if (stdout === 'closed') child.stdout!.destroy();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout: '', stderr })));
}

test('stdout on /dev/full: eval --json, check-data --json and models list --json say so in one line', async () => {
  const devFull = openSync('/dev/full', 'w');
  for (const args of [
    ['eval', '--model', DEMO_MODEL, '--num-validation', '1', '--json'],
    [
      'check-data',
      '--data-source',
      'synthetic-road',
      '--num-training',
      '2',
      '--num-validation',
      '1',
      '--json',
    ],
    ['models', 'list', '--models-dir', join(repoRoot, 'models'), '--json'],
  ]) {
    const result = await runWithStdout(args, devFull);
    assertOneLine(
      result,
      /^edgeseg: cannot write the output to stdout: no space left on the device; .*\(ENOSPC\)$/,
      args[0]!,
    );
  }
});

test('a reader that went away (| head): silent, exit 141 as SIGPIPE would, no unhandled error', async () => {
  const result = await runWithStdout(
    ['models', 'list', '--models-dir', join(repoRoot, 'models'), '--json'],
    'closed',
  );
  assert.equal(result.code, 141, result.stderr);
  assert.equal(result.stderr, '');
});

test('permission denied (the CLI as nobody in a folder owned by root): EACCES, named', async () => {
  const rootOnly = join(suite.dir, 'root-only');
  mkdirSync(rootOnly, { mode: 0o755 });
  chmodSync(suite.dir, 0o755);
  const result = spawnSync(
    process.execPath,
    [...cliNodeArgs(), 'data', 'export', '--out', join(rootOnly, 'tree')],
    { cwd: repoRoot, uid: 65534, gid: 65534, encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } },
  );
  assertOneLine(
    { code: result.status, stdout: result.stdout, stderr: result.stderr },
    /^edgeseg: --out: cannot create folder .*\/root-only\/tree: permission denied; .*\(EACCES\)$/,
    'data export as nobody',
  );
});

test('too many open files: a real EMFILE is described with the path and what to do', () => {
  // The CLI itself cannot be starved reliably (module loading hits the limit first), so a child
  // with a low limit opens files until the real EMFILE, then describes it as the CLI would.
  const script = join(suite.dir, 'emfile.ts');
  writeFileSync(
    script,
    `import { openSync } from 'node:fs';
import { describeSystemError } from ${JSON.stringify(join(repoRoot, 'src/system/os-errors.ts'))};
try { for (;;) openSync(${JSON.stringify(join(repoRoot, 'package.json'))}, 'r'); }
catch (error) { process.stdout.write(describeSystemError(error) ?? 'not described'); }
`,
  );
  const result = spawnSync(
    'sh',
    ['-c', `ulimit -n 64 && exec "${process.execPath}" --import tsx "${script}"`],
    {
      cwd: repoRoot,
      encoding: 'utf8',
    },
  );
  assert.match(
    result.stdout,
    /^cannot open .*package\.json: too many open files in this process; raise the limit \(ulimit -n\).*\(EMFILE\)$/,
  );
});
