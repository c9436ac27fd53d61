// The tfjs fallback engine: runs the model directory's tfjs/ copy of the weights (tfjs-node, else
// wasm, else cpu) behind the same interface, converting layouts so its output matches the manifest.

import { loadModel } from '../model/checkpoint.js';
import type { FcnModel } from '../model/fcn8s.js';
import type { ModelDir } from '../model/model-dir.js';
import { initTf, tf } from '../model/tf.js';
import { FileError } from '../system/errors.js';
import { EngineBase } from './engine-base.js';
import type { EngineOptions, InferenceEngine } from './types.js';

export class TfjsEngine extends EngineBase implements InferenceEngine {
  private readonly priorFallbackReasons: string[];
  private network: FcnModel | undefined;
  /** One output buffer per caller input buffer, so a pipelined caller can read frame n during run n+1. */
  private readonly outputs = new Map<Float32Array, Float32Array | Int32Array>();

  constructor(modelDir: string, options: EngineOptions, model?: ModelDir, fallbackReasons: string[] = []) {
    super('TfjsEngine', modelDir, options, model);
    this.priorFallbackReasons = fallbackReasons;
  }

  protected async load(): Promise<void> {
    const model = await this.loadModelFolder();
    if (!model.tfjsDir) {
      throw new FileError(model.manifestPath, 'has no files.tfjs: this model has no tfjs copy to run', {
        hint: 'use --runtime onnxruntime, or re-export the model with `edgeseg export` (which writes tfjs/)',
      });
    }
    const backend = await initTf('auto');
    this.network = await loadModel(model.tfjsDir);
    const { input, classes } = model.manifest;
    const numClasses = this.network.config.numClasses;
    if (numClasses !== classes.length) {
      throw new FileError(
        model.manifestPath,
        `classes: manifest lists ${classes.length} classes, the tfjs copy in ${model.tfjsDir} has ${numClasses}`,
      );
    }
    if (this.network.config.inputChannelOrder !== input.channelOrder) {
      throw new FileError(
        model.manifestPath,
        `input.channelOrder: manifest says ${input.channelOrder}, the tfjs copy takes ${this.network.config.inputChannelOrder}`,
      );
    }
    const inputDims =
      input.layout === 'NCHW' ? [1, 3, input.height, input.width] : [1, input.height, input.width, 3];
    const channelsLast = model.manifest.output.layout === 'NHWC';
    const outputDims =
      model.manifest.output.kind === 'classIds'
        ? [1, input.height, input.width]
        : channelsLast
          ? [1, input.height, input.width, numClasses]
          : [1, numClasses, input.height, input.width];
    this.engineInfo = {
      runtime: 'tfjs',
      provider: backend.backend,
      fallbackReasons: [...this.priorFallbackReasons, ...backend.fallbackReasons],
      inputDims,
      outputDims,
    };
    await this.run(new Float32Array(inputDims.reduce((a, b) => a * b, 1)));
    this.logger.info(
      { model: model.dir, backend: backend.backend },
      `tfjs engine ready on ${backend.backend}`,
    );
  }

  async run(input: Float32Array): Promise<Float32Array | Int32Array> {
    const network = this.network;
    if (!network) throw new Error('TfjsEngine: run() before start()');
    const { input: contract, output } = this.manifest;
    const { height, width } = contract;
    const result = tf.tidy(() => {
      let images: tf.Tensor4D =
        contract.layout === 'NCHW'
          ? tf.transpose(tf.tensor4d(input, [1, 3, height, width]), [0, 2, 3, 1])
          : tf.tensor4d(input, [1, height, width, 3]);
      // The network takes raw 0-255 pixels; undo a normalisation the manifest asks callers to apply.
      const identity =
        contract.scale === 1 && contract.mean.every((m) => m === 0) && contract.std.every((s) => s === 1);
      if (!identity) {
        images = tf.div(
          tf.add(tf.mul(images, tf.tensor1d(contract.std)), tf.tensor1d(contract.mean)),
          contract.scale,
        );
      }
      const logits = network.forward(images, { training: false });
      if (output.kind === 'classIds') return tf.cast(tf.argMax(logits, 3), 'int32');
      const scores = output.kind === 'probabilities' ? tf.softmax(logits, 3) : logits;
      return output.layout === 'NCHW' ? tf.transpose(scores, [0, 3, 1, 2]) : scores;
    });
    try {
      const values = await result.data();
      let target = this.outputs.get(input);
      if (!target) {
        target = output.kind === 'classIds' ? new Int32Array(values.length) : new Float32Array(values.length);
        if (this.outputs.size >= 8) this.outputs.clear();
        this.outputs.set(input, target);
      }
      target.set(values as Float32Array & Int32Array);
      return target;
    } finally {
      result.dispose();
    }
  }

  async stop(): Promise<void> {
    const network = this.network;
    this.network = undefined;
    this.forgetStart();
    this.outputs.clear();
    if (network && 'dispose' in network && typeof network.dispose === 'function') network.dispose();
  }
}
