// Fake Jetson board trees for the native/ script tests: the L4T release file, the device tree,
// CUDA, cuDNN and TensorRT version files and /proc/meminfo under a temp root, as JetPack lays
// them out; and stand-ins for build tools whose versions the scripts check.

import { chmodSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/tmp.js';

export interface Board {
  l4t?: string;
  soc?: string;
  model?: string;
  cuda?: string;
  /** 'json' (CUDA 11.1+) or 'txt' (older). */
  cudaFile?: 'json' | 'txt';
  cudnn?: [number, number, number];
  tensorrt?: [number, number, number];
  /** TensorRT 10 headers define NV_TENSORRT_* through TRT_*_ENTERPRISE macros. */
  trtIndirect?: boolean;
  memKb?: number;
  swapKb?: number;
  /** /etc/os-release VERSION_ID: each L4T line ships one Ubuntu (and so one glibc). */
  ubuntu?: string;
}

export const orin: Board = {
  l4t: '# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025',
  soc: 'tegra234',
  model: 'NVIDIA Jetson AGX Orin Developer Kit',
  cuda: '12.6.68',
  cudaFile: 'json',
  cudnn: [9, 3, 0],
  tensorrt: [10, 3, 0],
  trtIndirect: true,
  memKb: 32_116_476,
  swapKb: 16_058_220,
  ubuntu: '22.04',
};

export const xavier: Board = {
  l4t: '# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023',
  soc: 'tegra194',
  model: 'NVIDIA Jetson Xavier NX Developer Kit',
  cuda: '11.4.19',
  cudaFile: 'json',
  cudnn: [8, 6, 0],
  tensorrt: [8, 5, 2],
  memKb: 7_765_184,
  swapKb: 12_582_912,
  ubuntu: '20.04',
};

export const tx2: Board = {
  l4t: '# R32 (release), REVISION: 7.4, GCID: 33514132, BOARD: t186ref, EABI: aarch64, DATE: Fri Jun  9 04:25:08 UTC 2023',
  soc: 'tegra186',
  model: 'quill',
  cuda: '10.2.300',
  cudaFile: 'txt',
  cudnn: [8, 2, 1],
  tensorrt: [8, 2, 1],
  memKb: 8_041_000,
  swapKb: 4_020_000,
  ubuntu: '18.04',
};

/** Jetson TX1 on its last JetPack (4.6.x), the TX2's software: 4 GB shared with the GPU, JetPack's 2 GB of zram. */
export const tx1: Board = {
  ...tx2,
  l4t: tx2.l4t?.replace('BOARD: t186ref', 'BOARD: t210ref'),
  soc: 'tegra210',
  model: 'jetson_tx1',
  memKb: 4_059_136,
  swapKb: 2_029_568,
};

export async function makeBoard(board: Board): Promise<string> {
  const root = await makeTempDir('edgeseg-board-');
  const put = async (path: string, content: string) => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  };
  if (board.l4t) await put('etc/nv_tegra_release', `${board.l4t}\n# KERNEL_VARIANT: oot\n`);
  if (board.model) await put('proc/device-tree/model', `${board.model}\0`);
  if (board.soc) await put('proc/device-tree/compatible', `nvidia,p0000-0000\0nvidia,${board.soc}\0`);
  if (board.cuda && board.cudaFile === 'json') {
    await put(
      'usr/local/cuda/version.json',
      JSON.stringify(
        {
          cuda: { name: 'CUDA SDK', version: board.cuda },
          cuda_cccl: { name: 'CUDA C++ Core Compute Libraries', version: '9.9.9' },
        },
        null,
        3,
      ),
    );
  } else if (board.cuda) {
    await put('usr/local/cuda/version.txt', `CUDA Version ${board.cuda}\n`);
  }
  if (board.cudnn) {
    const [major, minor, patch] = board.cudnn;
    await put(
      `usr/include/aarch64-linux-gnu/cudnn_version${major >= 9 ? '_v9' : ''}.h`,
      `/* cudnn */\n#define CUDNN_MAJOR ${major}\n#define CUDNN_MINOR ${minor}\n#define CUDNN_PATCHLEVEL ${patch}\n`,
    );
  }
  if (board.tensorrt) {
    const [major, minor, patch] = board.tensorrt;
    await put(
      'usr/include/aarch64-linux-gnu/NvInferVersion.h',
      board.trtIndirect
        ? `#define TRT_MAJOR_ENTERPRISE ${major}\n#define TRT_MINOR_ENTERPRISE ${minor}\n#define TRT_PATCH_ENTERPRISE ${patch}\n` +
            '#define NV_TENSORRT_MAJOR TRT_MAJOR_ENTERPRISE //!< TensorRT major version.\n' +
            '#define NV_TENSORRT_MINOR TRT_MINOR_ENTERPRISE //!< TensorRT minor version.\n' +
            '#define NV_TENSORRT_PATCH TRT_PATCH_ENTERPRISE //!< TensorRT patch version.\n'
        : `#define NV_TENSORRT_MAJOR ${major} //!< TensorRT major version.\n#define NV_TENSORRT_MINOR ${minor}\n#define NV_TENSORRT_PATCH ${patch}\n`,
    );
  }
  if (board.ubuntu) await put('etc/os-release', `NAME="Ubuntu"\nVERSION_ID="${board.ubuntu}"\nID=ubuntu\n`);
  if (board.memKb !== undefined) {
    await put(
      'proc/meminfo',
      `MemTotal:       ${board.memKb} kB\nMemFree:        1000000 kB\nSwapTotal:      ${board.swapKb ?? 0} kB\n`,
    );
  }
  return root;
}

/** Stand-ins for the build tools whose versions the scripts check (this machine's may be older). */
export async function fakeTools(cmakeVersion = '3.30.2'): Promise<string> {
  const bin = await makeTempDir('edgeseg-bin-');
  for (const [name, body] of [
    ['cmake', `echo "cmake version ${cmakeVersion}"`],
    ['bazelisk', 'echo "bazelisk (stand-in)"'],
    // JetPack 4.6's toolchain PPA compiler and python3.8 (this machine's may be missing or newer).
    ['g++-10', 'echo "g++-10 (Ubuntu 10.5.0-1ubuntu1~18.04) 10.5.0"'],
    ['gcc-10', 'echo "gcc-10 (Ubuntu 10.5.0-1ubuntu1~18.04) 10.5.0"'],
    ['python3.8', 'echo "Python 3.8.0"'],
  ] as const) {
    await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}
