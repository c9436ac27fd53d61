// A tiny FCN-8s configuration for fast training tests (about 0.1 M parameters).

import type { ImageSize } from '../../src/data/types.js';
import { CAFFE_VGG_NORMALIZATION, type FcnConfig } from '../../src/model/architecture.js';

export function tinyFcnConfig(size: ImageSize, head: FcnConfig['head'] = 'fcn8s'): FcnConfig {
  return {
    numClasses: 6,
    height: size.height,
    width: size.width,
    widthMultiplier: 1 / 32,
    head,
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
  };
}
