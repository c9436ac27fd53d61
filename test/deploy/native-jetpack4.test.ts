// JetPack 4.6 boards (TX1, TX2: L4T R32.7, Ubuntu 18.04 / glibc 2.27, CUDA 10.2, cuDNN 8.2,
// TensorRT 8.2): every native/ script plans a complete build on their fake trees, the onnxruntime
// 1.11 binding patch applies, and install.sh finds the built Node.js and installs the whole-package
// onnxruntime overlay.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { type Board, fakeTools, makeBoard, orin, tx1, tx2 } from './fake-board.js';

const script = (name: string) => join(repoRoot, 'native', name);
const versions = Object.fromEntries(
  readFileSync(join(repoRoot, 'native/versions.env'), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_0-9]+=/.test(line))
    .map((line) => line.split('=') as [string, string]),
);
const nodePatch = join(repoRoot, 'native/patches/onnxruntime-1.11-node-gpu-providers.patch');
const ortFixture = join(repoRoot, 'test/deploy/fixtures/onnxruntime-1.11');
const GiB = 1024 * 1024;

function run(name: string, args: string[], bin: string) {
  return spawnSync('bash', [script(name), ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
}

/** The boards as docs/deployment.md leaves them: a swap file on top of JetPack's zram. */
const prepared = (board: Board): Board => ({ ...board, swapKb: 14 * GiB });

for (const [name, board, arch] of [
  ['TX2', tx2, '62'],
  ['TX1', tx1, '53'],
] as const) {
  test(`on a ${name} with JetPack 4.6 every native/ script plans a complete build`, async () => {
    const root = await makeBoard(prepared(board));
    const bin = await fakeTools();
    const work = join(await makeTempDir(), 'work');
    const out = join(await makeTempDir(), 'out');
    const common = ['--dry-run', '--root', root, '--workdir', work, '--out', out];
    const dotted = `${arch[0]}.${arch[1]}`;

    const node = run('build-node-jetson.sh', common, bin);
    assert.equal(node.status, 0, node.stdout + node.stderr);
    for (const expected of [
      `Node.js v${versions.NODE_VERSION} for /opt/edgeseg-node`,
      'L4T R32.7.4 (JetPack 4.6.x), Ubuntu 18.04 with glibc 2.27',
      `https://nodejs.org/dist/v${versions.NODE_VERSION}/node-v${versions.NODE_VERSION}.tar.xz`,
      'SHASUMS256.txt',
      'configure.py --prefix=/opt/edgeseg-node --partly-static',
      'make install DESTDIR=',
      'check it needs nothing newer than glibc 2.27',
      `node-v${versions.NODE_VERSION}-linux-arm64-glibc2.27-jetpack4.6.x.tar.gz`,
      'deploy/install.sh --native',
    ]) {
      assert.ok(node.stdout.includes(expected), `node: missing "${expected}" in:\n${node.stdout}`);
    }
    assert.match(node.stdout, /compilers: g\+\+-1\d/);
    assert.match(node.stdout, /step 6: pack the overlay/);

    const ort = run('build-onnxruntime-jetson.sh', common, bin);
    assert.equal(ort.status, 0, ort.stdout + ort.stderr);
    for (const expected of [
      `onnxruntime ${versions.ORT_JETPACK4_VERSION} (TensorRT 8.2's`,
      `--branch v${versions.ORT_JETPACK4_VERSION}`,
      'onnxruntime-1.11-node-gpu-providers.patch',
      '--use_tensorrt --tensorrt_home /usr/lib/aarch64-linux-gnu',
      `CMAKE_CUDA_ARCHITECTURES=${arch}`,
      `npm pack onnxruntime-node@${versions.ORT_JETPACK4_VERSION} onnxruntime-common@${versions.ORT_JETPACK4_VERSION}`,
      'bin/napi-v3/linux/arm64',
      '"overlay": "package"',
      'ort-smoke.cjs',
      `onnxruntime-node-${versions.ORT_JETPACK4_VERSION}-linux-arm64-jetpack4.6.x-cuda10.2-trt8.2-sm${arch}.tar.gz`,
    ]) {
      assert.ok(ort.stdout.includes(expected), `onnxruntime: missing "${expected}" in:\n${ort.stdout}`);
    }
    assert.doesNotMatch(ort.stdout, /--compile_no_warning_as_error/, '1.11 has no such switch');

    const tf = run('build-libtensorflow-jetson.sh', common, bin);
    assert.equal(tf.status, 0, tf.stdout + tf.stderr);
    for (const expected of [
      `TensorFlow v${versions.TF_JETPACK4_VERSION}`,
      `--branch v${versions.TF_JETPACK4_VERSION}`,
      'apply the Eigen fix (tensorflow-eigen-aarch64.patch)',
      'TF_CUDA_VERSION=10.2',
      'TF_CUDNN_VERSION=8',
      `TF_CUDA_COMPUTE_CAPABILITIES=${dotted}`,
      'npm pack @tensorflow/tfjs-node@4.22.0',
      `tfjs-node-4.22.0-linux-arm64-tf${versions.TF_JETPACK4_VERSION}-jetpack4.6.x-cuda10.2-sm${arch}.tar.gz`,
    ]) {
      assert.ok(tf.stdout.includes(expected), `tensorflow: missing "${expected}" in:\n${tf.stdout}`);
    }
    assert.match(tf.stdout, /python: \S+python3\S* \(3\.(?:[7-9]|10)/, "not Ubuntu 18.04's python 3.6");
    assert.equal(existsSync(work), false, 'a dry run builds nothing');
    assert.equal(existsSync(out), false, 'a dry run writes nothing');
  });
}

test('a stock TX1 (4 GB, JetPack zram only) is told how much swap to add; newer JetPacks need no Node.js build', async () => {
  const bin = await fakeTools();
  const stock = await makeBoard(tx1);
  const node = run('build-node-jetson.sh', ['--dry-run', '--root', stock], bin);
  assert.equal(node.status, 1);
  assert.match(
    node.stderr,
    /not enough memory: 3 GiB RAM \+ 1 GiB swap, the build needs 6 GiB together[\s\S]*fallocate -l 3G/,
  );
  const ort = run('build-onnxruntime-jetson.sh', ['--dry-run', '--root', stock], bin);
  assert.equal(ort.status, 1);
  assert.match(ort.stderr, /the build needs 12 GiB together/);

  const onOrin = run('build-node-jetson.sh', ['--dry-run', '--root', await makeBoard(orin)], bin);
  assert.equal(onOrin.status, 0, onOrin.stderr);
  assert.match(onOrin.stdout, /nothing to build: glibc 2\.35 runs the official Node\.js .* binaries/);
  assert.doesNotMatch(onOrin.stdout, /step 1/);
  const old = run('build-node-jetson.sh', ['--dry-run', '--root', stock, '--node-version', '18.20.4'], bin);
  assert.equal(old.status, 1);
  assert.match(old.stderr, /edgeseg needs Node\.js 20\.10 or newer \(package\.json engines\), not 18\.20\.4/);
  const noRelease = run(
    'build-node-jetson.sh',
    ['--dry-run', '--root', await makeBoard({ ...tx2, ubuntu: undefined })],
    bin,
  );
  assert.equal(noRelease.status, 1);
  assert.match(
    noRelease.stderr,
    /cannot tell the glibc version: .*os-release has no known Ubuntu VERSION_ID/,
  );
});

test('the onnxruntime 1.11 binding patch applies exactly once, and the script checks it against a checkout', async () => {
  const tree = await makeTempDir('edgeseg-ort-src-');
  await cp(ortFixture, tree, { recursive: true });
  const target = join(tree, 'js/node/src/session_options_helper.cc');
  const check = spawnSync(
    'patch',
    ['--dry-run', '--forward', '--fuzz=0', '-p1', '-d', tree, '-i', nodePatch],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.doesNotMatch(check.stdout, /fuzz|offset|FAILED/);
  assert.equal(spawnSync('patch', ['--forward', '--fuzz=0', '-p1', '-d', tree, '-i', nodePatch]).status, 0);
  const patched = await readFile(target, 'utf8');
  assert.match(
    patched,
    /} else if \(name == "cuda"\) \{\n\s+Ort::ThrowOnError\(OrtSessionOptionsAppendExecutionProvider_CUDA\(sessionOptions, 0\)\);/,
  );
  assert.match(
    patched,
    /} else if \(name == "tensorrt"\) \{\n\s+Ort::ThrowOnError\(OrtSessionOptionsAppendExecutionProvider_Tensorrt\(sessionOptions, 0\)\);/,
  );
  assert.doesNotMatch(patched, /TODO: handling Cuda EP options/);
  const again = spawnSync('patch', ['--dry-run', '--forward', '-p1', '-d', tree, '-i', nodePatch], {
    encoding: 'utf8',
  });
  assert.notEqual(again.status, 0, 'a second application is refused');

  const bin = await fakeTools();
  const root = await makeBoard(prepared(tx2));
  const work = await makeTempDir('edgeseg-work-');
  const checkout = join(work, `onnxruntime-${versions.ORT_JETPACK4_VERSION}`);
  await cp(ortFixture, checkout, { recursive: true });
  await mkdir(join(checkout, '.git'));
  const fits = run('build-onnxruntime-jetson.sh', ['--dry-run', '--root', root, '--workdir', work], bin);
  assert.equal(fits.status, 0, fits.stderr);
  assert.match(fits.stdout, /the patch applies cleanly to/);
  const original = await readFile(join(checkout, 'js/node/src/session_options_helper.cc'), 'utf8');
  await writeFile(
    join(checkout, 'js/node/src/session_options_helper.cc'),
    original.replace('      // TODO: handling Cuda EP options\n', ''),
  );
  const misfit = run('build-onnxruntime-jetson.sh', ['--dry-run', '--root', root, '--workdir', work], bin);
  assert.equal(misfit.status, 1);
  assert.match(
    misfit.stderr,
    /onnxruntime-1\.11-node-gpu-providers\.patch does not apply to onnxruntime v1\.11\.0 .*nothing was built/,
  );
});

/** A tarball with edgeseg-native.json and the given files, as the build scripts pack them. */
async function overlay(out: string, name: string, info: object, files: Record<string, string>) {
  const stage = await makeTempDir('edgeseg-stage-');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(stage, path, '..'), { recursive: true });
    await writeFile(join(stage, path), content);
    if (path.endsWith('bin/node')) chmodSync(join(stage, path), 0o755);
  }
  await writeFile(join(stage, 'edgeseg-native.json'), `${JSON.stringify(info)}\n`);
  assert.equal(spawnSync('tar', ['-czf', join(out, name), '-C', stage, '.']).status, 0);
}

/** A PATH with everything in /usr/bin and /bin except node. */
async function pathWithoutNode(): Promise<string> {
  const dir = await makeTempDir('edgeseg-nonode-');
  for (const folder of ['/usr/bin', '/bin']) {
    for (const entry of readdirSync(folder)) {
      if (entry === 'node' || existsSync(join(dir, entry))) continue;
      await symlink(join(folder, entry), join(dir, entry));
    }
  }
  return dir;
}

test('install.sh runs the service on the Node.js native/ built and installs onnxruntime 1.11 as a whole package', async () => {
  const destdir = await makeTempDir('edgeseg-dest-');
  const out = await makeTempDir('edgeseg-native-out-');
  // Stand-ins: a built node that reports its version, and onnxruntime-node 1.11 with a binding file.
  await overlay(
    out,
    `node-v${versions.NODE_VERSION}-linux-arm64-glibc2.27-jetpack4.6.x.tar.gz`,
    {
      package: 'node',
      version: versions.NODE_VERSION,
    },
    { 'bin/node': `#!/bin/sh\necho ${versions.NODE_VERSION}\n` },
  );
  await overlay(
    out,
    'onnxruntime-node-1.11.0-linux-arm64-jetpack4.6.x-cuda10.2-trt8.2-sm62.tar.gz',
    {
      package: 'onnxruntime-node',
      version: '1.11.0',
      overlay: 'package',
      providers: ['tensorrt', 'cuda', 'cpu'],
    },
    {
      'package.json': '{\n  "name": "onnxruntime-node",\n  "version": "1.11.0"\n}\n',
      'bin/napi-v3/linux/arm64/libonnxruntime_providers_tensorrt.so': 'stand-in\n',
      'node_modules/onnxruntime-common/package.json': '{\n  "version": "1.11.0"\n}\n',
    },
  );
  // What npm ci leaves: package.json's onnxruntime-node, which the overlay must replace whole.
  const npmPackage = join(destdir, 'opt/edgeseg/node_modules/onnxruntime-node');
  await mkdir(join(npmPackage, 'bin/napi-v6/linux/arm64'), { recursive: true });
  await writeFile(
    join(npmPackage, 'package.json'),
    '{\n  "name": "onnxruntime-node",\n  "version": "1.30.0"\n}\n',
  );

  const install = (env: Record<string, string> = {}, ...args: string[]) =>
    spawnSync('bash', [join(repoRoot, 'deploy/install.sh'), '--skip-npm', ...args], {
      env: { ...process.env, DESTDIR: destdir, ...env },
      encoding: 'utf8',
    });
  const first = install({}, '--native', out);
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /native overlay node-v.* -> \/opt\/edgeseg-node/);
  assert.match(
    first.stdout,
    new RegExp(`Node\\.js ${versions.NODE_VERSION}: /opt/edgeseg/bin/node -> /opt/edgeseg-node/bin/node`),
  );
  assert.equal(readlinkSync(join(destdir, 'opt/edgeseg/bin/node')), '/opt/edgeseg-node/bin/node');
  assert.match(
    first.stdout,
    /-> \/opt\/edgeseg\/node_modules\/onnxruntime-node \(the whole package, onnxruntime-node 1\.11\.0\)/,
  );
  assert.equal(existsSync(join(npmPackage, 'bin/napi-v6')), false, "npm's 1.30 files are gone");
  assert.ok(existsSync(join(npmPackage, 'bin/napi-v3/linux/arm64/libonnxruntime_providers_tensorrt.so')));
  assert.ok(existsSync(join(npmPackage, 'node_modules/onnxruntime-common/package.json')));
  assert.deepEqual(JSON.parse(await readFile(join(npmPackage, 'edgeseg-native.json'), 'utf8')).providers, [
    'tensorrt',
    'cuda',
    'cpu',
  ]);
  const unit = await readFile(join(destdir, 'etc/systemd/system/edgeseg.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/opt\/edgeseg\/bin\/node \/opt\/edgeseg\/dist\/cli\/index\.js run/m);

  // An upgrade (no --native) re-applies the kept runtime overlay over whatever the folder holds.
  await writeFile(join(destdir, 'opt/edgeseg-node/bin/node'), '#!/bin/sh\nexit 1\n');
  const upgrade = install();
  assert.equal(upgrade.status, 0, upgrade.stderr);
  assert.match(
    upgrade.stdout,
    new RegExp(`Node\\.js ${versions.NODE_VERSION}: /opt/edgeseg/bin/node -> /opt/edgeseg-node/bin/node`),
  );

  // Without a usable runtime, each candidate is named with what is wrong with it.
  const bare = await makeTempDir('edgeseg-dest-');
  const bareInstall = (path: string) =>
    spawnSync('bash', [join(repoRoot, 'deploy/install.sh'), '--skip-npm'], {
      env: { ...process.env, DESTDIR: bare, PATH: path },
      encoding: 'utf8',
    });
  const noNode = await pathWithoutNode();
  const builtNode = join(bare, 'opt/edgeseg-node/bin/node');
  await mkdir(join(builtNode, '..'), { recursive: true });
  await writeFile(builtNode, '#!/bin/sh\necho 18.19.0\n');
  chmodSync(builtNode, 0o755);
  const tooOld = bareInstall(noNode);
  assert.equal(tooOld.status, 1);
  assert.match(
    tooOld.stderr,
    /no Node\.js 20\.10 or newer that runs here; \/opt\/edgeseg-node\/bin\/node is Node\.js 18\.19\.0, too old/,
  );
  assert.match(tooOld.stderr, /build one with native\/build-node-jetson\.sh/);
  await writeFile(
    builtNode,
    '#!/bin/sh\necho "node: /lib/aarch64-linux-gnu/libc.so.6: version \'GLIBC_2.28\' not found" >&2\nexit 1\n',
  );
  await writeFile(join(noNode, 'node'), '#!/bin/sh\necho 16.20.2\n');
  chmodSync(join(noNode, 'node'), 0o755);
  const broken = bareInstall(noNode);
  assert.equal(broken.status, 1);
  assert.match(
    broken.stderr,
    /\/opt\/edgeseg-node\/bin\/node does not run here \(node: .*GLIBC_2\.28' not found\)/,
  );
  assert.match(broken.stderr, /edgeseg-nonode-\w+\/node is Node\.js 16\.20\.2, too old/);
  assert.equal(install({}, '--uninstall', '--purge').status, 0);
  assert.equal(existsSync(join(destdir, 'opt/edgeseg-node')), false);
});
