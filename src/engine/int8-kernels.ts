// Which int8 kernel family onnxruntime's CPU provider runs on this machine, and whether an int8
// model's recorded accuracy was measured on that family: the families round differently, so a
// model's mIoU holds only where it was measured (or where its weights cannot saturate).

import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import type { Int8KernelFamily, ModelManifest } from '../model/manifest.js';

const { onnx } = onnxProto;

/** Probe size: K uint8 255s times K int8 127s, exactly K x 32385; pairwise-saturated K/2 x 32767. */
const PROBE_K = 64;
const PROBE_EXACT = PROBE_K * 255 * 127;

/** A one-node MatMulInteger model (uint8 input x int8 weights): the GEMM behind QLinearConv. */
function probeModel(): Uint8Array {
  const { DataType } = onnx.TensorProto;
  const weights = new Int8Array(PROBE_K).fill(127);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'edgeseg int8 kernel probe',
    graph: {
      name: 'int8_kernel_probe',
      node: [{ opType: 'MatMulInteger', input: ['a', 'b'], output: ['y'] }],
      initializer: [
        { name: 'b', dataType: DataType.INT8, dims: [PROBE_K, 1], rawData: new Uint8Array(weights.buffer) },
      ],
      input: [
        {
          name: 'a',
          type: {
            tensorType: {
              elemType: DataType.UINT8,
              shape: { dim: [{ dimValue: 1 }, { dimValue: PROBE_K }] },
            },
          },
        },
      ],
      output: [{ name: 'y', type: { tensorType: { elemType: DataType.INT32 } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * On x86, whether onnxruntime's uint8 x int8 GEMM saturates (the `vpmaddubsw` kernels of CPUs
 * without AVX-512 VNNI / AVX-VNNI). Asked of onnxruntime itself rather than read from
 * /proc/cpuinfo: onnxruntime dispatches on CPUID, and under emulation (qemu-x86_64 -cpu Haswell)
 * /proc/cpuinfo still shows the host's flags.
 */
async function x86Saturates(): Promise<boolean> {
  const session = await ort.InferenceSession.create(probeModel(), { intraOpNumThreads: 1 });
  try {
    const input = new ort.Tensor('uint8', new Uint8Array(PROBE_K).fill(255), [1, PROBE_K]);
    const { y } = await session.run({ a: input });
    return Number((y!.data as Int32Array)[0]) !== PROBE_EXACT;
  } finally {
    await session.release();
  }
}

/** arm64: the dot-product extension (`asimddp` in /proc/cpuinfo's Features), which onnxruntime reads too. */
export function armHasDotProduct(cpuinfo: string): boolean {
  const features = /^Features\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  return features.trim().split(/\s+/).includes('asimddp');
}

let detected: Promise<Int8KernelFamily> | undefined;

/** The int8 kernel family of this process (probed once, then cached). */
export function int8KernelFamily(): Promise<Int8KernelFamily> {
  detected ??= (async (): Promise<Int8KernelFamily> => {
    // The probe only labels the kernels: a probe that cannot run must not keep a model from loading.
    if (process.arch === 'x64')
      return x86Saturates().then(
        (saturates) => (saturates ? 'x86-no-vnni' : 'x86-vnni'),
        () => 'other' as const,
      );
    if (process.arch === 'arm64') {
      let cpuinfo = '';
      try {
        cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
      } catch {
        return 'other';
      }
      return armHasDotProduct(cpuinfo) ? 'arm64-dotprod' : 'arm64-no-dotprod';
    }
    return 'other';
  })();
  return detected;
}

/**
 * Why an int8 model's recorded accuracy may not hold on `family` (it was not measured there), or
 * undefined when it was, or for fp32 models.
 */
export function int8AccuracyCaveat(manifest: ModelManifest, family: Int8KernelFamily): string | undefined {
  const q = manifest.quantization;
  if (manifest.precision !== 'int8' || !q) return undefined;
  const measuredOn = q.accuracy.int8Kernels ?? [];
  if (measuredOn.includes(family)) return undefined;
  const where =
    measuredOn.length > 0
      ? `was measured on ${measuredOn.join(', ')} int8 kernels`
      : 'does not say which int8 kernels it was measured on';
  const why =
    q.weightBits === 7
      ? 'its 7-bit weights cannot saturate any of them, so it should hold'
      : family === 'x86-no-vnni'
        ? 'its 8-bit weights saturate here: re-quantize it with `edgeseg quantize` (7-bit weights by default)'
        : 'they may round differently';
  return `int8 model ${manifest.name}: the recorded mIoU ${q.accuracy.int8MIoU.toFixed(4)} ${where}, this CPU runs ${family} kernels; ${why}. Check with \`edgeseg eval\``;
}
