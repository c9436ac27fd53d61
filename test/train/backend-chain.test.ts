import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeTfBackend } from '../../src/model/tf.js';
import { initTrainingTf } from '../../src/train/kernels/tf-training.js';

test('auto tries tfjs-node-gpu, then tfjs-node, then wasm, and says why each native one was passed over', async () => {
  // Neither native package is installed on the test machine (no CUDA, no libtensorflow download).
  const info = await initTrainingTf('auto');
  assert.equal(info.backend, 'wasm');
  assert.equal(info.nativePackage, undefined);
  assert.match(
    describeTfBackend(info),
    /^TensorFlow\.js backend: wasm \(fell back: tfjs-node-gpu is not installed or failed to load \(.+\); tfjs-node is not installed or failed to load \(.+\)\)$/,
  );
});
