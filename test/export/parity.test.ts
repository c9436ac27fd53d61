// For the same weights, logits from tfjs and from onnxruntime agree: max |diff| <= 1e-4 × the
// logits' range, argmax equal on >= 99.9% of pixels; both heads. Each branch of each head is also
// compared alone (the other branches' scoring layers zeroed), so a branch the ONNX writer or the
// tfjs builder drops, mis-scales or upsamples wrongly moves the logits by its whole range; with all
// branches on, the skips' score weights are scaled up by 1/skip-scale so each contributes comparably.
// The light encoders (ResNet18, MobileNetV3) are compared with every encoder layer random, including
// the ones that start at zero (residual branches), so every block's every path is on.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import ort from 'onnxruntime-node';
import { exportModel } from '../../src/export/export.js';
import {
  CAFFE_VGG_NORMALIZATION,
  type EncoderName,
  type FcnConfig,
  type FcnHead,
  fcnGraph,
  type NamedWeights,
  POOL3_SCALE,
  POOL4_SCALE,
  parameterName,
  TORCHVISION_NORMALIZATION,
} from '../../src/model/architecture.js';
import { createFcn8s, initialWeights } from '../../src/model/fcn8s.js';
import { readManifest } from '../../src/model/manifest.js';
import { fillNormal, mulberry32 } from '../../src/model/random.js';
import { initTf, tf } from '../../src/model/tf.js';
import { sha256File } from '../../src/system/fs.js';
import { argmaxAgreement } from '../helpers/logits.js';
import { makeTempDir } from '../helpers/tmp.js';

before(async () => {
  await initTf('auto');
});

interface Branch {
  /** The encoder feature the branch starts from, for the test names. */
  feature: 'conv7' | 'pool4' | 'pool3';
  /** The branch's scoring convolution: zeroing it (and its bias) silences the branch. */
  score: string;
  /** Score weights are multiplied by this, undoing the skip's scale so the branch is not negligible. */
  gain: number;
}

const BRANCHES: Record<FcnHead, Branch[]> = {
  fcn8s: [
    { feature: 'conv7', score: 'score_fr', gain: 1 },
    { feature: 'pool4', score: 'score_pool4', gain: 1 / POOL4_SCALE },
    { feature: 'pool3', score: 'score_pool3', gain: 1 / POOL3_SCALE },
  ],
  original: [
    { feature: 'conv7', score: 'score_layer7', gain: 1 },
    { feature: 'pool4', score: 'score_layer4', gain: 1 },
    { feature: 'pool3', score: 'score_layer3', gain: 1 },
  ],
};

function configFor(head: FcnHead, height: number, width: number): FcnConfig {
  return {
    numClasses: 4,
    height,
    width,
    widthMultiplier: 1 / 16,
    head,
    inputChannelOrder: 'BGR',
    normalization: CAFFE_VGG_NORMALIZATION,
  };
}

/**
 * Random weights on every layer that carries signal: the encoder as initialised, every upsampling
 * kernel random (not its bilinear start, so each upsampling's own weights matter, across classes),
 * the active branches' scoring layers random × gain, the silent ones zero.
 */
function branchWeights(config: FcnConfig, active: readonly Branch[], seed: number): NamedWeights {
  const random = mulberry32(seed);
  const weights = initialWeights(config, seed);
  const activeScores = new Map(active.map((branch) => [branch.score, branch.gain]));
  for (const op of fcnGraph(config).head) {
    if (op.op === 'upsample')
      fillNormal(weights.get(parameterName(op.layer.name, 'kernel'))!.values, 0.3, random);
    if (op.op !== 'conv') continue;
    const gain = activeScores.get(op.layer.name);
    const kernel = weights.get(parameterName(op.layer.name, 'kernel'))!.values;
    const bias = weights.get(parameterName(op.layer.name, 'bias'))!.values;
    if (gain === undefined) {
      kernel.fill(0);
      bias.fill(0);
    } else {
      fillNormal(kernel, 0.3 * gain, random);
      fillNormal(bias, 0.05, random);
    }
  }
  return weights;
}

/** branchWeights with every encoder layer random (He-scaled), the zero-initialised ones included. */
function lightEncoderWeights(config: FcnConfig, seed: number): NamedWeights {
  const random = mulberry32(seed);
  // Unscaled skips: every branch at gain 1.
  const branches = BRANCHES[config.head].map((branch) => ({ ...branch, gain: 1 }));
  const weights = branchWeights(config, branches, seed);
  const graph = fcnGraph(config);
  for (const op of graph.encoder) {
    const layers = op.op === 'conv' ? [op.layer] : op.op === 'squeezeExcite' ? [op.reduce, op.expand] : [];
    for (const layer of layers) {
      const fanIn = layer.kernel * layer.kernel * (layer.depthwise ? 1 : layer.inChannels);
      fillNormal(weights.get(parameterName(layer.name, 'kernel'))!.values, Math.sqrt(1 / fanIn), random);
      fillNormal(weights.get(parameterName(layer.name, 'bias'))!.values, 0.1, random);
    }
  }
  return weights;
}

function randomImage(height: number, width: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: height * width * 3 }, () => Math.floor(random() * 256));
}

function nhwcToNchw(values: Float32Array, height: number, width: number, channels: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let c = 0; c < channels; c++)
    for (let p = 0; p < height * width; p++) out[c * height * width + p] = values[p * channels + c]!;
  return out;
}

interface Comparison {
  maxDiff: number;
  range: number;
  agreement: number;
}

/** Exports a model with `weights` and compares onnxruntime's logits with tfjs's on one picture. */
async function compareTfjsAndOnnx(config: FcnConfig, weights: NamedWeights): Promise<Comparison> {
  const { height, width, numClasses } = config;
  const model = createFcn8s(config, { weights });
  const dir = join(await makeTempDir(), 'model');
  const manifest = await exportModel(model, dir);
  assert.equal(manifest.files.onnxSha256, await sha256File(join(dir, 'model.onnx')));
  assert.deepEqual(await readManifest(dir), manifest);

  const image = randomImage(height, width, 7);
  const expected = tf.tidy(
    () => model.forward(tf.tensor4d(image, [1, height, width, 3])).dataSync() as Float32Array,
  );
  model.dispose();
  const expectedNchw = nhwcToNchw(expected, height, width, numClasses);

  const session = await ort.InferenceSession.create(await readFile(join(dir, 'model.onnx')), {
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const feeds = {
    image: new ort.Tensor('float32', nhwcToNchw(image, height, width, 3), [1, 3, height, width]),
  };
  const output = (await session.run(feeds)).logits!;
  await session.release();
  assert.deepEqual(output.dims, [1, numClasses, height, width]);
  const actual = output.data as Float32Array;

  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let maxDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    min = Math.min(min, expectedNchw[i]!);
    max = Math.max(max, expectedNchw[i]!);
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expectedNchw[i]!));
  }
  return { maxDiff, range: max - min, agreement: argmaxAgreement([actual], [expectedNchw], numClasses) };
}

function assertAgreement({ maxDiff, range, agreement }: Comparison, diagnostic: (m: string) => void): void {
  diagnostic(
    `max |diff| ${maxDiff.toExponential(2)}, logits range ${range.toFixed(2)} (ratio ${(maxDiff / range).toExponential(2)}), argmax agreement ${(100 * agreement).toFixed(3)}%`,
  );
  // The silent branches and biases give a range near 0: a range above 1 proves the branches carry signal.
  assert.ok(range > 1, `logits range ${range} is too small for a meaningful comparison`);
  assert.ok(maxDiff <= 1e-4 * range, `max |diff| ${maxDiff} > 1e-4 × range ${range}`);
  assert.ok(agreement >= 0.999, `argmax agrees on ${(100 * agreement).toFixed(3)}% of pixels`);
}

for (const head of ['fcn8s', 'original'] as const) {
  test(`${head} head: the branches compared here are all the head's scoring layers`, () => {
    const scoring = fcnGraph(configFor(head, 64, 96)).head.flatMap((op) =>
      op.op === 'conv' ? [op.layer.name] : [],
    );
    assert.deepEqual(BRANCHES[head].map((branch) => branch.score).sort(), scoring.sort());
  });

  for (const { height, width } of [
    { height: 64, width: 96 },
    { height: 160, width: 224 },
  ]) {
    test(`${head} head at ${height}x${width}, all branches: tfjs and onnxruntime logits agree`, async (t) => {
      const config = configFor(head, height, width);
      const comparison = await compareTfjsAndOnnx(config, branchWeights(config, BRANCHES[head], 42));
      assertAgreement(comparison, (m) => t.diagnostic(m));
    });
  }

  for (const branch of BRANCHES[head]) {
    test(`${head} head, ${branch.feature} branch alone (${branch.score}): tfjs and onnxruntime logits agree`, async (t) => {
      const config = configFor(head, 64, 96);
      const comparison = await compareTfjsAndOnnx(config, branchWeights(config, [branch], 43));
      assertAgreement(comparison, (m) => t.diagnostic(m));
    });
  }
}

for (const encoder of ['resnet18', 'mobilenetv3'] as const satisfies readonly EncoderName[]) {
  for (const head of ['fcn8s', 'original'] as const) {
    test(`${encoder} encoder, ${head} head at 64x96: tfjs and onnxruntime logits agree`, async (t) => {
      const config: FcnConfig = {
        ...configFor(head, 64, 96),
        encoder,
        widthMultiplier: 0.25,
        inputChannelOrder: 'RGB',
        normalization: TORCHVISION_NORMALIZATION,
      };
      // No skip scaling on the light encoders: the branches need no gain to contribute.
      assert.ok(fcnGraph(config).head.every((op) => op.op !== 'scale' || head === 'original'));
      const comparison = await compareTfjsAndOnnx(config, lightEncoderWeights(config, 44));
      assertAgreement(comparison, (m) => t.diagnostic(m));
    });
  }
}
