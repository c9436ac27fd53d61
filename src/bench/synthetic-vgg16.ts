// `edgeseg bench --synthetic-vgg16`: a full-size (width 1) random-weight FCN-8s, exported to a temp
// directory per size, benchmarked like any model at 576x160 and 1024x512 (W x H).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYNTHETIC_ROAD_CLASSES } from '../data/synthetic-road.js';
import { exportModel } from '../export/export.js';
import { CAFFE_VGG_NORMALIZATION } from '../model/architecture.js';
import { createFcn8s } from '../model/fcn8s.js';
import { initTf } from '../model/tf.js';
import { type BenchOptions, type BenchReport, benchModel } from './daemon-path.js';

/** Height × width, as everywhere in edgeseg: 576x160 and 1024x512 in the W×H. */
export const SYNTHETIC_VGG16_SIZES = [
  { height: 160, width: 576 },
  { height: 512, width: 1024 },
] as const;

export interface SyntheticBenchOptions extends Omit<BenchOptions, 'modelDir' | 'frameSize'> {
  sizes?: ReadonlyArray<{ height: number; width: number }>;
}

export async function benchSyntheticVgg16(options: SyntheticBenchOptions): Promise<BenchReport[]> {
  const say = options.onProgress ?? (() => {});
  await initTf('auto');
  const reports: BenchReport[] = [];
  for (const size of options.sizes ?? SYNTHETIC_VGG16_SIZES) {
    const dir = await mkdtemp(join(tmpdir(), 'edgeseg-vgg16-'));
    try {
      say(`exporting a random-weight width-1 FCN-8s at ${size.height}x${size.width}`);
      const network = createFcn8s(
        {
          numClasses: SYNTHETIC_ROAD_CLASSES.length,
          height: size.height,
          width: size.width,
          widthMultiplier: 1,
          head: 'fcn8s',
          inputChannelOrder: 'BGR',
          normalization: CAFFE_VGG_NORMALIZATION,
        },
        { seed: 1, classes: SYNTHETIC_ROAD_CLASSES },
      );
      const modelDir = join(dir, 'fcn8s-vgg16');
      try {
        await exportModel(network, modelDir, { name: `synthetic-vgg16-${size.height}x${size.width}` });
      } finally {
        network.dispose();
      }
      reports.push(await benchModel({ ...options, modelDir, frameSize: size }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return reports;
}
