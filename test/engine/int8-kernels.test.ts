// The int8 kernel family the engine reports (asked of onnxruntime on x86, read from the CPU's
// features on arm64) and the warning, once per model, where an int8 model's recorded accuracy was
// not measured on that family.

import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { createEngine } from '../../src/engine/create.js';
import { armHasDotProduct, int8AccuracyCaveat, int8KernelFamily } from '../../src/engine/int8-kernels.js';
import { type Int8KernelFamily, type ModelManifest, readManifest } from '../../src/model/manifest.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const int8Demo = join(repoRoot, 'models/synthetic-road-fcn8s-int8');

test('on x86 the probed family matches the CPU flags (natively; under qemu only the probe sees the emulated CPU)', async (t) => {
  if (process.arch !== 'x64') {
    assert.match(await int8KernelFamily(), /^arm64-|^other$/);
    return;
  }
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
  const flags = (/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/);
  const vnni = flags.includes('avx512_vnni') || flags.includes('avx_vnni');
  const family = await int8KernelFamily();
  t.diagnostic(`probe: ${family}; /proc/cpuinfo VNNI flag: ${vnni}`);
  assert.equal(family, vnni ? 'x86-vnni' : 'x86-no-vnni');
  assert.equal(await int8KernelFamily(), family, 'cached, the same answer');
});

test('arm64: the dot-product extension is read from the Features line', () => {
  // Cortex-A57 (Jetson TX1/TX2, Nano) and Cortex-A78AE (Orin), as their kernels print them.
  const a57 =
    'processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\nCPU part\t: 0xd07\n';
  const a78 =
    'processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\n';
  assert.equal(armHasDotProduct(a57), false);
  assert.equal(armHasDotProduct(a78), true);
  assert.equal(armHasDotProduct('Features\t: fp asimd asimddpx\n'), false, 'a whole word, not a prefix');
});

function withQuantization(
  manifest: ModelManifest,
  change: Partial<NonNullable<ModelManifest['quantization']>>,
) {
  const q = manifest.quantization!;
  return { ...manifest, quantization: { ...q, ...change } };
}

test('the caveat names where the accuracy was measured, and what to do', async () => {
  const manifest = await readManifest(int8Demo);
  const q = manifest.quantization!;
  const measured = (families: Int8KernelFamily[] | undefined, weightBits: 7 | 8) =>
    withQuantization(manifest, {
      weightBits,
      accuracy: { ...q.accuracy, ...(families ? { int8Kernels: families } : { int8Kernels: undefined }) },
    });
  assert.equal(
    int8AccuracyCaveat(measured(['x86-no-vnni', 'arm64-no-dotprod'], 7), 'arm64-no-dotprod'),
    undefined,
  );
  assert.match(
    int8AccuracyCaveat(measured(['x86-no-vnni'], 7), 'x86-vnni') ?? '',
    /measured on x86-no-vnni int8 kernels, this CPU runs x86-vnni kernels; its 7-bit weights cannot saturate/,
  );
  assert.match(
    int8AccuracyCaveat(measured(['x86-vnni'], 8), 'x86-no-vnni') ?? '',
    /8-bit weights saturate here: re-quantize it with `edgeseg quantize`/,
  );
  assert.match(
    int8AccuracyCaveat(measured(undefined, 8), 'arm64-dotprod') ?? '',
    /does not say which int8 kernels/,
  );
  const fp32 = await readManifest(join(repoRoot, 'models/synthetic-road-fcn8s'));
  assert.equal(int8AccuracyCaveat(fp32, 'x86-no-vnni'), undefined, 'fp32 models: nothing to say');
});

/** A copy of the int8 demo whose manifest says its accuracy was measured on `families`. */
async function demoMeasuredOn(families: Int8KernelFamily[]): Promise<string> {
  const dir = join(await makeTempDir('edgeseg-int8-kernels-'), 'model');
  await cp(int8Demo, dir, { recursive: true });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  manifest.quantization!.accuracy.int8Kernels = families;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

async function warningsOverTwoLoads(dir: string): Promise<string[]> {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  for (let load = 0; load < 2; load++) {
    const engine = await createEngine(dir, { runtime: 'onnxruntime', executionProviders: ['cpu'], logger });
    assert.equal(engine.info.int8Kernels, await int8KernelFamily());
    await engine.stop();
  }
  return lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
}

test('loading an int8 model measured elsewhere warns once; measured here, not at all', async () => {
  const here = await int8KernelFamily();
  const elsewhere: Int8KernelFamily = here === 'x86-vnni' ? 'x86-no-vnni' : 'x86-vnni';
  const warned = await warningsOverTwoLoads(await demoMeasuredOn([elsewhere]));
  assert.equal(warned.length, 1, warned.join('\n'));
  assert.match(
    warned[0]!,
    new RegExp(`measured on ${elsewhere} int8 kernels, this CPU runs ${here} kernels`),
  );
  assert.deepEqual(await warningsOverTwoLoads(await demoMeasuredOn([elsewhere, here])), []);
});
