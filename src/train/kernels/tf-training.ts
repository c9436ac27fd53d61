// TensorFlow.js set up for training: gradient functions registered, and the wasm backend given the
// kernels it lacks for backpropagation. Inference code never needs this module.

import './tf-gradients.js';
import { initTf, type TfBackendChoice, type TfBackendInfo } from '../../model/tf.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

registerWasmTrainingKernels();

/** initTf for training: same backend choice and messages, with gradients available on every backend. */
export async function initTrainingTf(choice: TfBackendChoice = 'auto'): Promise<TfBackendInfo> {
  return initTf(choice);
}
