import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardFlopsPerImage } from '../../src/bench/training.js';
import { CAFFE_VGG_NORMALIZATION } from '../../src/model/architecture.js';

test('the training bench counts a full-width FCN-8s forward pass at 224x224 as VGG16 plus fc6/fc7 as convolutions', () => {
  const flops = forwardFlopsPerImage({
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
    numClasses: 2,
    head: 'fcn8s',
    height: 224,
    width: 224,
    widthMultiplier: 1,
  });
  // VGG16's 13 convolutions: 15.35 G multiply-adds; fc6 (7x7x512x4096) and fc7 (4096x4096) at 7x7.
  const expected = 2 * 15.347e9 + 2 * 49 * 512 * 4096 * 49 + 2 * 4096 * 4096 * 49;
  assert.ok(Math.abs(flops - expected) < 0.002 * expected, `${flops / 1e9} vs ${expected / 1e9} GFLOP`);
});
