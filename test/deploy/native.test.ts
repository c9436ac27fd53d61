// native/: the Jetson build scripts dry-run against fake board trees (L4T, device tree, CUDA, cuDNN
// and TensorRT version files in a temp root), fail clearly when a prerequisite is missing, and the
// Eigen patch applies cleanly to a copy of the file it patches. install.sh applies the overlays the
// scripts produce.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { type Board, fakeTools, makeBoard, orin, tx2, xavier } from './fake-board.js';

const ortScript = join(repoRoot, 'native/build-onnxruntime-jetson.sh');
const tfScript = join(repoRoot, 'native/build-libtensorflow-jetson.sh');
const patchFile = join(repoRoot, 'native/patches/tensorflow-eigen-aarch64.patch');
const fixture = join(repoRoot, 'test/deploy/fixtures/tensorflow');
const ortVersion = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).dependencies[
  'onnxruntime-node'
] as string;

function runScript(script: string, args: string[], bin: string) {
  return spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
}

test('build-onnxruntime-jetson.sh --dry-run on an Orin with JetPack 6.2 prints the versions and every step', async () => {
  const root = await makeBoard(orin);
  const bin = await fakeTools();
  const work = join(await makeTempDir(), 'work');
  const out = join(await makeTempDir(), 'out');
  const result = runScript(ortScript, ['--dry-run', '--root', root, '--workdir', work, '--out', out], bin);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const text = result.stdout;
  for (const expected of [
    `onnxruntime v${ortVersion}`,
    'NVIDIA Jetson AGX Orin Developer Kit (tegra234), GPU compute capability 8.7',
    'L4T R36.4.3 (JetPack 6.2)',
    'CUDA 12.6.68 at /usr/local/cuda',
    'cuDNN 9.3.0',
    'TensorRT 10.3.0',
    '30 GiB RAM + 15 GiB swap',
    `--branch v${ortVersion}`,
    '--use_tensorrt --tensorrt_home /usr/lib/aarch64-linux-gnu',
    '--use_cuda --cuda_home /usr/local/cuda --cudnn_home /usr/lib/aarch64-linux-gnu',
    '--build_nodejs',
    'CMAKE_CUDA_ARCHITECTURES=87',
    'libonnxruntime_providers_tensorrt.so',
    'ort-smoke.cjs',
    `onnxruntime-node-${ortVersion}-linux-arm64-jetpack6.2-cuda12.6-trt10.3-sm87.tar.gz`,
    'deploy/install.sh --native',
  ]) {
    assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
  }
  assert.match(text, /step 1: fetch onnxruntime[\s\S]*step 2: build[\s\S]*step 5: pack the overlay/);
  assert.equal(existsSync(work), false, 'a dry run builds nothing');
  assert.equal(existsSync(out), false, 'a dry run writes nothing');
});

test('each Jetson module maps to its GPU compute capability', async () => {
  const bin = await fakeTools();
  const table: Array<[string, string]> = [
    ['tegra210', '5.3'],
    ['tegra186', '6.2'],
    ['tegra194', '7.2'],
    ['tegra234', '8.7'],
  ];
  for (const [soc, arch] of table) {
    const root = await makeBoard({ ...orin, soc });
    const result = runScript(ortScript, ['--dry-run', '--root', root], bin);
    assert.match(
      result.stdout,
      new RegExp(`\\(${soc}\\), GPU compute capability ${arch.replace('.', '\\.')}`),
    );
  }
  const unknown = await makeBoard({ ...orin, soc: 'tegra999' });
  const refused = runScript(ortScript, ['--dry-run', '--root', unknown], bin);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /cannot tell the GPU compute capability.*tegra999.*--cuda-arch/);
  const forced = runScript(ortScript, ['--dry-run', '--root', unknown, '--cuda-arch', '87'], bin);
  assert.equal(forced.status, 0, forced.stderr);
  assert.match(forced.stdout, /CMAKE_CUDA_ARCHITECTURES=87/);
});

test('build-onnxruntime-jetson.sh refuses JetPack 5 with the versions that fall short', async () => {
  const bin = await fakeTools();
  const onXavier = runScript(ortScript, ['--dry-run', '--root', await makeBoard(xavier)], bin);
  assert.equal(onXavier.status, 1);
  assert.match(onXavier.stdout, /L4T R35\.4\.1 \(JetPack 5\.1\.2\)/);
  assert.match(onXavier.stdout, /TensorRT 8\.5\.2/);
  assert.match(
    onXavier.stderr,
    /cannot be built with GPU providers on JetPack 5\.1\.2: CUDA 11\.4\.19 \(needs 12 or newer\);cuDNN 8\.6\.0 \(needs 9 or newer\);TensorRT 8\.5\.2 \(needs 10 or newer\)\. It needs JetPack 6\.1 or newer \(Orin\); on JetPack 4\.6 .* this script builds onnxruntime 1\.11\.0 instead/,
  );
  // JetPack 4.5 (TensorRT 7.1) is neither: onnxruntime 1.11 needs TensorRT 8.2.
  const onJetpack45 = runScript(
    ortScript,
    ['--dry-run', '--root', await makeBoard({ ...tx2, tensorrt: [7, 1, 3] })],
    bin,
  );
  assert.equal(onJetpack45.status, 1);
  assert.match(onJetpack45.stderr, /TensorRT 7\.1\.3 \(needs 10 or newer\)/);
});

test('missing prerequisites fail with a message that names them', async () => {
  const bin = await fakeTools();
  const cases: Array<[string, Board, RegExp]> = [
    ['no L4T', { ...orin, l4t: undefined }, /not a Jetson: .*etc\/nv_tegra_release is missing/],
    ['no CUDA', { ...orin, cuda: undefined }, /CUDA not found: neither .*version\.json nor .*version\.txt/],
    ['no cuDNN', { ...orin, cudnn: undefined }, /cuDNN not found: no cudnn_version\.h/],
    [
      'no TensorRT',
      { ...orin, tensorrt: undefined },
      /TensorRT not found: no NvInferVersion\.h.*libnvinfer-dev/,
    ],
    [
      'no swap on an 8 GB board',
      { ...orin, memKb: 7_765_184, swapKb: 0 },
      /not enough memory: 7 GiB RAM \+ 0 GiB swap, the build needs 12 GiB together; add swap first[\s\S]*fallocate -l 5G/,
    ],
  ];
  for (const [name, board, message] of cases) {
    const result = runScript(ortScript, ['--dry-run', '--root', await makeBoard(board)], bin);
    assert.equal(result.status, 1, `${name}: ${result.stdout}`);
    assert.match(result.stderr, message, name);
  }
  const oldCmake = runScript(
    ortScript,
    ['--dry-run', '--root', await makeBoard(orin)],
    await fakeTools('3.22.1'),
  );
  assert.equal(oldCmake.status, 1);
  assert.match(oldCmake.stderr, /missing prerequisite: CMake 3\.28 or newer \(found 3\.22\.1\)/);
  const badOption = runScript(ortScript, ['--frobnicate'], bin);
  assert.equal(badOption.status, 1);
  assert.match(badOption.stderr, /unknown option --frobnicate/);
  const notOnBoard = runScript(ortScript, ['--root', await makeBoard(orin)], bin);
  if (process.arch !== 'arm64') {
    assert.equal(notOnBoard.status, 1);
    assert.match(notOnBoard.stderr, /run this on the Jetson itself.*--dry-run works anywhere/);
  }
});

test('build-libtensorflow-jetson.sh --dry-run on a Xavier with JetPack 5.1.2 prints every step', async () => {
  const bin = await fakeTools();
  const work = join(await makeTempDir(), 'work');
  const result = runScript(
    tfScript,
    ['--dry-run', '--root', await makeBoard(xavier), '--workdir', work],
    bin,
  );
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const text = result.stdout;
  for (const expected of [
    'libtensorflow (C API, CUDA) and tfjs-node 4.22.0',
    'TensorFlow v2.9.1',
    'NVIDIA Jetson Xavier NX Developer Kit (tegra194), GPU compute capability 7.2',
    'L4T R35.4.1 (JetPack 5.1.2)',
    'CUDA 11.4.19',
    'cuDNN 8.6.0',
    '--branch v2.9.1',
    'apply the Eigen fix (tensorflow-eigen-aarch64.patch)',
    'TF_CUDA_COMPUTE_CAPABILITIES=7.2',
    'TF_CUDA_VERSION=11.4',
    'TF_CUDNN_VERSION=8',
    '//tensorflow/tools/lib_package:libtensorflow',
    'npm pack @tensorflow/tfjs-node@4.22.0',
    'node-pre-gyp install --build-from-source',
    'tfjs-node-4.22.0-linux-arm64-tf2.9.1-jetpack5.1.2-cuda11.4-sm72.tar.gz',
  ]) {
    assert.ok(text.includes(expected), `missing "${expected}" in:\n${text}`);
  }
  assert.equal(existsSync(work), false, 'a dry run builds nothing');

  const onOrin = runScript(tfScript, ['--dry-run', '--root', await makeBoard(orin)], bin);
  assert.equal(onOrin.status, 1);
  assert.match(
    onOrin.stderr,
    /no TensorFlow release to build for CUDA 12\.6\.68 and cuDNN 9\.3\.0 \(JetPack 6\.2\): 2\.9\.1 needs CUDA 11\.2-11\.8/,
  );
  const lowMemory = runScript(
    tfScript,
    ['--dry-run', '--root', await makeBoard({ ...xavier, swapKb: 2_000_000 })],
    bin,
  );
  assert.equal(lowMemory.status, 1);
  assert.match(lowMemory.stderr, /not enough memory: 7 GiB RAM \+ 1 GiB swap, the build needs 16 GiB/);
  const halfEigen = runScript(
    tfScript,
    ['--dry-run', '--root', await makeBoard(xavier), '--eigen-commit', 'a'.repeat(40)],
    bin,
  );
  assert.equal(halfEigen.status, 1);
  assert.match(halfEigen.stderr, /--eigen-commit and --eigen-sha256 go together/);
});

test('the Eigen patch applies cleanly to a copy of workspace.bzl, once, and the script checks it before building', async (t) => {
  const tree = await makeTempDir('edgeseg-tf-');
  await cp(fixture, tree, { recursive: true });
  const target = join(tree, 'third_party/eigen3/workspace.bzl');
  const original = await readFile(target, 'utf8');

  const check = spawnSync('patch', ['--dry-run', '--forward', '-p1', '-d', tree, '-i', patchFile], {
    encoding: 'utf8',
  });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.doesNotMatch(check.stdout, /fuzz|offset|FAILED/, 'applies exactly, without fuzz or offset');
  assert.equal(await readFile(target, 'utf8'), original, '--dry-run changes nothing');

  const apply = spawnSync('patch', ['--forward', '-p1', '-d', tree, '-i', patchFile], { encoding: 'utf8' });
  assert.equal(apply.status, 0, apply.stdout + apply.stderr);
  const patched = await readFile(target, 'utf8');
  // The override comes after the tag's own pin, before eigen_archive is declared.
  const pin = patched.indexOf('EIGEN_COMMIT = "f02856c6');
  const fix = patched.indexOf('EIGEN_COMMIT = "0e187141679fdb91da33249d18cb79a011c0e2ea"');
  const archive = patched.indexOf('name = "eigen_archive"');
  assert.ok(pin > 0 && fix > pin && archive > fix, patched);
  assert.match(patched, /EIGEN_SHA256 = "52a7ef3ffe2b581973615b000657f456e2eab8e899fb863f456711feb790cb8c"/);
  const again = spawnSync('patch', ['--dry-run', '--forward', '-p1', '-d', tree, '-i', patchFile], {
    encoding: 'utf8',
  });
  assert.notEqual(again.status, 0, 'a second application is refused');

  await t.test(
    'the build script verifies the patch against a checkout, and stops when it does not apply',
    async () => {
      const bin = await fakeTools();
      const root = await makeBoard(xavier);
      const work = await makeTempDir('edgeseg-work-');
      const checkout = join(work, 'tensorflow-2.9.1');
      await cp(fixture, checkout, { recursive: true });
      await mkdir(join(checkout, '.git'));
      const fits = runScript(tfScript, ['--dry-run', '--root', root, '--workdir', work], bin);
      assert.equal(fits.status, 0, fits.stderr);
      assert.match(fits.stdout, /reusing .*tensorflow-2\.9\.1/);
      assert.match(fits.stdout, /the patch applies cleanly to/);
      assert.equal(
        await readFile(join(checkout, 'third_party/eigen3/workspace.bzl'), 'utf8'),
        original,
        'a dry run does not patch',
      );

      await writeFile(
        join(checkout, 'third_party/eigen3/workspace.bzl'),
        original.replace('    # LINT.ThenChange(//tensorflow/lite/tools/cmake/modules/eigen.cmake)\n', ''),
      );
      const misfit = runScript(tfScript, ['--dry-run', '--root', root, '--workdir', work], bin);
      assert.equal(misfit.status, 1);
      assert.match(misfit.stderr, /the Eigen fix does not apply to TensorFlow v2\.9\.1 .*nothing was built/);
    },
  );
});

test('install.sh --native keeps the overlays and unpacks each over the npm package it was built for', async () => {
  const destdir = await makeTempDir('edgeseg-dest-');
  const build = await makeTempDir('edgeseg-native-out-');
  const stage = join(build, 'stage');
  const binDir = join(stage, 'bin/napi-v6/linux/arm64');
  await mkdir(binDir, { recursive: true });
  for (const lib of [
    'onnxruntime_binding.node',
    'libonnxruntime.so.1',
    'libonnxruntime_providers_tensorrt.so',
  ]) {
    await writeFile(join(binDir, lib), `stand-in for ${lib}\n`);
  }
  await writeFile(
    join(stage, 'edgeseg-native.json'),
    `${JSON.stringify({ package: 'onnxruntime-node', version: ortVersion, target: 'bin/napi-v6/linux/arm64' })}\n`,
  );
  const out = join(build, 'out');
  await mkdir(out);
  const archive = `onnxruntime-node-${ortVersion}-linux-arm64-jetpack6.2-cuda12.6-trt10.3-sm87.tar.gz`;
  assert.equal(spawnSync('tar', ['-czf', join(out, archive), '-C', stage, '.']).status, 0);
  // A tfjs-node overlay whose members have no ./ prefix.
  const tfjsStage = join(build, 'tfjs-stage');
  await mkdir(join(tfjsStage, 'deps/lib'), { recursive: true });
  await writeFile(join(tfjsStage, 'deps/lib/libtensorflow.so.2'), 'stand-in\n');
  await writeFile(
    join(tfjsStage, 'edgeseg-native.json'),
    `${JSON.stringify({ package: '@tensorflow/tfjs-node', version: '4.22.0' })}\n`,
  );
  const tfjsArchive = 'tfjs-node-4.22.0-linux-arm64-tf2.9.1-jetpack5.1.2-cuda11.4-sm72.tar.gz';
  assert.equal(
    spawnSync('tar', ['-czf', join(out, tfjsArchive), '-C', tfjsStage, 'edgeseg-native.json', 'deps']).status,
    0,
  );
  // A bare libtensorflow tarball (no edgeseg-native.json) sits beside it and is not an overlay.
  assert.equal(
    spawnSync('tar', ['-czf', join(out, 'libtensorflow-gpu-linux-arm64-2.9.1.tar.gz'), '-C', binDir, '.'])
      .status,
    0,
  );

  const install = (...args: string[]) =>
    spawnSync('bash', [join(repoRoot, 'deploy/install.sh'), '--skip-npm', ...args], {
      env: { ...process.env, DESTDIR: destdir },
      encoding: 'utf8',
    });
  const first = install('--native', out);
  assert.equal(first.status, 0, first.stderr);
  assert.match(
    first.stdout,
    /native overlay onnxruntime-node-.*-sm87\.tar\.gz -> \/opt\/edgeseg\/node_modules\/onnxruntime-node/,
  );
  const installedLib = join(
    destdir,
    'opt/edgeseg/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime_providers_tensorrt.so',
  );
  assert.equal(await readFile(installedLib, 'utf8'), 'stand-in for libonnxruntime_providers_tensorrt.so\n');
  assert.ok(existsSync(join(destdir, 'opt/edgeseg-native', archive)), 'kept for later upgrades');
  assert.ok(
    existsSync(join(destdir, 'opt/edgeseg/node_modules/@tensorflow/tfjs-node/deps/lib/libtensorflow.so.2')),
    first.stdout,
  );
  assert.equal(
    existsSync(join(destdir, 'opt/edgeseg-native/libtensorflow-gpu-linux-arm64-2.9.1.tar.gz')),
    false,
  );

  // An upgrade re-applies the kept overlay, unless npm now has another onnxruntime-node version.
  await writeFile(
    join(destdir, 'opt/edgeseg/node_modules/onnxruntime-node/package.json'),
    `{\n  "name": "onnxruntime-node",\n  "version": "${ortVersion}"\n}\n`,
  );
  const upgrade = install();
  assert.equal(upgrade.status, 0, upgrade.stderr);
  assert.match(upgrade.stdout, /native overlay onnxruntime-node-/);
  await writeFile(
    join(destdir, 'opt/edgeseg/node_modules/onnxruntime-node/package.json'),
    '{\n  "name": "onnxruntime-node",\n  "version": "9.9.9"\n}\n',
  );
  const mismatch = install();
  assert.equal(mismatch.status, 0, mismatch.stderr);
  assert.match(
    mismatch.stderr,
    new RegExp(
      `skipped .*built for onnxruntime-node ${ortVersion.replaceAll('.', '\\.')}, but 9\\.9\\.9 is installed`,
    ),
  );

  const empty = await makeTempDir('edgeseg-empty-');
  const nothing = install('--native', empty);
  assert.equal(nothing.status, 1);
  assert.match(nothing.stderr, /no native overlay in .*edgeseg-empty-/);
  assert.equal(install('--uninstall', '--purge').status, 0);
  assert.equal(existsSync(join(destdir, 'opt/edgeseg-native')), false);
});
