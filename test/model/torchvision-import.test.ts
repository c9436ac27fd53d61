// Import of torchvision ResNet18 / MobileNetV3-Large ONNX files: files exported by Debian's
// python3-torchvision with random weights (and random BatchNorm statistics, which torch folds into the
// convolutions), imported into an edgeseg model, whose exported graph's stride-8/16/32 features equal
// torchvision's own encoder outputs, both run in onnxruntime. Mismatching files name the layer.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import { buildFcnOnnx } from '../../src/export/fcn-onnx.js';
import {
  type EncoderName,
  type FcnConfig,
  normalizationAffine,
  TORCHVISION_NORMALIZATION,
} from '../../src/model/architecture.js';
import { initialWeights } from '../../src/model/fcn8s.js';
import { mulberry32 } from '../../src/model/random.js';
import { importTorchvisionOnnx, modulePath } from '../../src/model/torchvision-import.js';
import { makeSuiteDir } from '../helpers/tmp.js';

const HEIGHT = 64;
const WIDTH = 96;
const FILES = { resnet18: 'resnet18', mobilenetv3: 'mobilenet_v3_large' } as const;
const exported = new Map<string, string>();

function configFor(encoder: EncoderName, widthMultiplier = 1): FcnConfig {
  return {
    encoder,
    numClasses: 3,
    height: HEIGHT,
    width: WIDTH,
    widthMultiplier,
    head: 'fcn8s',
    inputChannelOrder: 'RGB',
    normalization: TORCHVISION_NORMALIZATION,
  };
}

let suite: Awaited<ReturnType<typeof makeSuiteDir>> | undefined;
after(() => suite?.remove());

before(async () => {
  suite = await makeSuiteDir();
  const { dir } = suite;
  const script = join(import.meta.dirname, 'torchvision-export.py');
  await Promise.all(
    Object.values(FILES).map(async (name) => {
      try {
        await promisify(execFile)('/usr/bin/python3', [script, name, dir, String(HEIGHT), String(WIDTH)]);
      } catch (error) {
        throw new Error(`exporting ${name} needs Debian's python3-torchvision: ${(error as Error).message}`);
      }
    }),
  );
  for (const name of Object.values(FILES)) exported.set(name, join(dir, name));
});

test('torchvision module paths are recovered from torch.onnx.export node names', () => {
  assert.equal(modulePath('/layer2/layer2.0/downsample/downsample.0/Conv'), 'layer2.0.downsample.0');
  assert.equal(modulePath('/conv1/Conv'), 'conv1');
  assert.equal(modulePath('/features/features.4/block/block.2/fc1/Conv'), 'features.4.block.2.fc1');
});

for (const encoder of ['resnet18', 'mobilenetv3'] as const) {
  test(`${encoder}: an edgeseg model imported from torchvision computes torchvision's encoder features`, async (t) => {
    const base = exported.get(FILES[encoder])!;
    const config = configFor(encoder);
    const imported = await importTorchvisionOnnx(`${base}.onnx`, config);
    const weights = initialWeights(config);
    for (const [name, entry] of imported.weights) weights.set(name, entry);
    const bytes = await buildFcnOnnx(config, async (name) => weights.get(name)!.values, 'test', {
      featureOutputs: true,
    });

    // The same picture: raw RGB 0-255 for edgeseg, torchvision-normalised for torchvision.
    const random = mulberry32(3);
    const pixels = Float32Array.from({ length: 3 * HEIGHT * WIDTH }, () => Math.floor(random() * 256));
    const { multiply, offset } = normalizationAffine(TORCHVISION_NORMALIZATION);
    const plane = HEIGHT * WIDTH;
    const normalized = pixels.map(
      (v, i) => v * multiply[Math.floor(i / plane)]! - offset[Math.floor(i / plane)]!,
    );
    const run = async (model: string | Uint8Array, input: Float32Array) => {
      const session = await ort.InferenceSession.create(model as Uint8Array);
      try {
        return await session.run({ image: new ort.Tensor('float32', input, [1, 3, HEIGHT, WIDTH]) });
      } finally {
        await session.release();
      }
    };
    const ours = await run(bytes, pixels);
    const theirs = await run(`${base}-features.onnx`, normalized);
    for (const feature of ['pool3', 'pool4', 'conv7'] as const) {
      const expected = theirs[feature]!;
      const actual = ours[`feature_${feature}`]!;
      assert.deepEqual(actual.dims, expected.dims, `${feature} shape`);
      const a = actual.data as Float32Array;
      const e = expected.data as Float32Array;
      let maxDiff = 0;
      let scale = 0;
      for (let i = 0; i < e.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i]! - e[i]!));
        scale = Math.max(scale, Math.abs(e[i]!));
      }
      t.diagnostic(
        `${feature} ${expected.dims.join('x')}: max |diff| ${maxDiff.toExponential(2)}, max |feature| ${scale.toFixed(3)}`,
      );
      assert.ok(scale > 0.1, `${feature} is near zero: nothing to compare`);
      assert.ok(maxDiff <= 1e-4 * scale, `${feature}: max |diff| ${maxDiff} > 1e-4 × ${scale}`);
    }
  });
}

test('a file for another width or encoder is refused, naming the first layer that does not match', async () => {
  await assert.rejects(
    importTorchvisionOnnx(`${exported.get('resnet18')}.onnx`, configFor('resnet18', 0.5)),
    /layer conv1 \(ONNX node "\/conv1\/Conv"\): weight is 64x3x7x7, expected 32x3x7x7 for resnet18 at width 0.5/,
  );
  await assert.rejects(
    importTorchvisionOnnx(`${exported.get('mobilenet_v3_large')}.onnx`, configFor('resnet18')),
    /layer conv1: the file has no convolution named so/,
  );
  await assert.rejects(
    importTorchvisionOnnx(`${exported.get('resnet18')}.onnx`, configFor('mobilenetv3')),
    /layer features\.0\.0: the file has no convolution named so/,
  );
});
