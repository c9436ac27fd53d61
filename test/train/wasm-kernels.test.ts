import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FcnConfig, TORCHVISION_NORMALIZATION } from '../../src/model/architecture.js';
import { createFcn8s, initialWeights } from '../../src/model/fcn8s.js';
import { tf } from '../../src/model/tf.js';
import { initTrainingTf } from '../../src/train/kernels/tf-training.js';
import { paddedGrid } from '../../src/train/kernels/wasm-filter-gradient-grid.js';
import { isSmallMap } from '../../src/train/kernels/wasm-small-map-conv.js';

/** Deterministic values in [-0.5, 0.5): tf.randomNormal is far too slow on this machine. */
function pseudoRandom(shape: number[], seed: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    values[i] = state / 0x7fffffff - 0.5;
  }
  return tf.tensor(values, shape);
}

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

async function filterGradient(
  backend: 'wasm' | 'cpu',
  inputShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: Pad,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = pseudoRandom(inputShape, 1) as tf.Tensor4D;
    const target = pseudoRandom(filterShape, 2) as tf.Tensor4D;
    const weights = pseudoRandom(filterShape, 3) as tf.Tensor4D;
    // A loss whose upstream gradient is not all ones, so dy is a real tensor.
    const reference = tf.conv2d(x, target, strides, pad);
    const gradient = tf.grad((w: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, strides, pad), reference)),
    )(weights);
    return gradient.dataSync() as Float32Array;
  });
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
  }
  assert.ok(maxAbs > 0.1, `${what}: reference gradient is degenerate`);
  assert.ok(
    maxDiff <= 1e-5 * Math.max(1, maxAbs),
    `${what}: max |wasm - cpu| = ${maxDiff} (max |cpu| ${maxAbs})`,
  );
}

type FilterCase = {
  input: number[];
  filter: number[];
  strides: number | [number, number];
  pad: Pad;
  /** The strided cases that must take the phase-plane path (wasm-filter-gradient-grid.ts). */
  grid?: true;
};

test('wasm Conv2DBackpropFilter matches the cpu backend for several shapes, strides and paddings', async () => {
  await initTrainingTf('wasm');
  const cases: FilterCase[] = [
    { input: [2, 9, 11, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { input: [1, 8, 8, 5], filter: [3, 3, 5, 2], strides: 2, pad: 'same' },
    { input: [1, 9, 7, 2], filter: [3, 2, 2, 3], strides: 2, pad: 'valid' },
    { input: [2, 10, 10, 4], filter: [7, 7, 4, 6], strides: 1, pad: 'valid' },
    { input: [1, 6, 6, 3], filter: [1, 1, 3, 5], strides: 1, pad: 'valid' },
    // fc6 over a map smaller than its filter: taps over the padding only, taps on a corner of dY.
    { input: [3, 3, 9, 4], filter: [7, 7, 4, 5], strides: 1, pad: 'same' },
    // ResNet's strided 1x1 downsample, odd sizes, batch 3.
    { input: [3, 9, 11, 4], filter: [1, 1, 4, 3], strides: 2, pad: 'valid' },
    // Strided convolutions on maps large enough for the phase planes: 'same', 'valid' with rows
    // left over, explicit padding, and the stride-4 transposed-convolution geometry.
    { input: [2, 24, 26, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same', grid: true },
    { input: [3, 21, 23, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'valid', grid: true },
    { input: [1, 48, 64, 2], filter: [8, 8, 2, 3], strides: 4, pad: 'same', grid: true },
    {
      input: [1, 25, 31, 3],
      filter: [3, 3, 3, 2],
      strides: 2,
      pad: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
      grid: true,
    },
    {
      input: [1, 7, 8, 2],
      filter: [3, 3, 2, 2],
      strides: [2, 1],
      pad: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    },
  ];
  for (const c of cases) {
    const what = `input ${c.input} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)}`;
    assert.equal(paddedGrid(geometry(c)) !== undefined, c.grid === true, `${what}: path`);
    const onWasm = await filterGradient('wasm', c.input, c.filter, c.strides, c.pad);
    const onCpu = await filterGradient('cpu', c.input, c.filter, c.strides, c.pad);
    assertClose(onWasm, onCpu, what);
  }
});

function geometry(c: FilterCase) {
  return tf.backend_util.computeConv2DInfo(
    c.input as [number, number, number, number],
    c.filter as [number, number, number, number],
    c.strides,
    1,
    c.pad,
  );
}

/** Filters large for their map (fc6 at 96x288 and smaller): wasm-small-map-conv.ts's cases. */
const SMALL_MAPS: FilterCase[] = [
  { input: [3, 3, 9, 4], filter: [7, 7, 4, 5], strides: 1, pad: 'same' },
  { input: [1, 5, 18, 3], filter: [7, 7, 3, 2], strides: 1, pad: 'same' },
  // A ResNet stage at a small input: 3x3 'same' on a 1x2 map, stride 2 on a 2x3 one.
  { input: [2, 1, 2, 6], filter: [3, 3, 6, 4], strides: 1, pad: 'same' },
  { input: [1, 2, 3, 4], filter: [3, 3, 4, 5], strides: 2, pad: 'same' },
];

test('wasm Conv2D on filters large for their map (per-tap matmuls) matches the cpu backend', async () => {
  await initTrainingTf('wasm');
  for (const c of SMALL_MAPS) {
    const what = `input ${c.input} filter ${c.filter} strides ${c.strides} pad ${c.pad}`;
    assert.ok(isSmallMap(geometry(c)), `${what}: path`);
    const forwardOn = async (backend: 'wasm' | 'cpu') => {
      await tf.setBackend(backend);
      return tf.tidy(
        () =>
          tf
            .conv2d(
              pseudoRandom(c.input, 11) as tf.Tensor4D,
              pseudoRandom(c.filter, 12) as tf.Tensor4D,
              c.strides,
              c.pad as 'same',
            )
            .dataSync() as Float32Array,
      );
    };
    assertClose(await forwardOn('wasm'), await forwardOn('cpu'), what);
  }
});

test('full-width fc6 takes the per-tap kernels at every seed size, whose maps alone would not send it there', () => {
  // 160x576 (5x18 map: 59 % on the image), 256x512 (8x16: 70 %), and a 64-filter 7x7 on the same
  // 8x16 map, which keeps XNNPACK's convolution.
  const fc6 = (height: number, width: number, outChannels: number) =>
    tf.backend_util.computeConv2DInfo([1, height, width, 512], [7, 7, 512, outChannels], 1, 1, 'same');
  assert.ok(isSmallMap(fc6(5, 18, 4096)));
  assert.ok(isSmallMap(fc6(8, 16, 4096)));
  assert.ok(!isSmallMap(fc6(8, 16, 64)));
});

/** dX of sum(conv2d(x, w) · reference): the input gradient (Conv2DBackpropInput). */
async function inputGradient(
  backend: 'wasm' | 'cpu',
  inputShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: Pad,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = pseudoRandom(inputShape, 6) as tf.Tensor4D;
    const weights = pseudoRandom(filterShape, 7) as tf.Tensor4D;
    const reference = tf.conv2d(x, pseudoRandom(filterShape, 8) as tf.Tensor4D, strides, pad);
    return tf
      .grad((input: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, weights, strides, pad), reference)),
      )(x)
      .dataSync() as Float32Array;
  });
}

test('wasm Conv2DBackpropInput (small maps per tap, stride 1 on the forward Conv2D, strided by sub-pixel phases) matches the cpu backend', async () => {
  await initTrainingTf('wasm');
  const cases: FilterCase[] = [
    { input: [2, 9, 11, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { input: [1, 10, 10, 4], filter: [7, 7, 4, 6], strides: 1, pad: 'same' },
    { input: [1, 8, 9, 3], filter: [4, 2, 3, 2], strides: 1, pad: 'same' },
    { input: [2, 10, 10, 4], filter: [7, 7, 4, 6], strides: 1, pad: 'valid' },
    { input: [1, 6, 6, 3], filter: [1, 1, 3, 5], strides: 1, pad: 'valid' },
    { input: [1, 8, 8, 5], filter: [3, 3, 5, 2], strides: 2, pad: 'same' },
    // Strided (sub-pixel phases): 'valid' with odd sizes and batch 3, ResNet's 1x1 downsample
    // (phases without taps), stride 3 with a 5x5, unequal strides with explicit padding.
    { input: [3, 11, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
    { input: [2, 9, 12, 4], filter: [1, 1, 4, 3], strides: 2, pad: 'valid' },
    { input: [1, 13, 14, 2], filter: [5, 5, 2, 3], strides: 3, pad: 'same' },
    {
      input: [1, 10, 9, 3],
      filter: [3, 4, 3, 2],
      strides: [2, 1],
      pad: [
        [0, 0],
        [1, 1],
        [2, 1],
        [0, 0],
      ],
    },
    {
      input: [1, 7, 8, 2],
      filter: [3, 3, 2, 2],
      strides: 1,
      pad: [
        [0, 0],
        [0, 2],
        [1, 0],
        [0, 0],
      ],
    },
    {
      input: [1, 7, 8, 2],
      filter: [2, 2, 2, 2],
      strides: 1,
      pad: [
        [0, 0],
        [3, 0],
        [0, 1],
        [0, 0],
      ],
    },
    ...SMALL_MAPS,
  ];
  for (const c of cases) {
    const what = `input ${c.input} filter ${c.filter} strides ${c.strides} pad ${JSON.stringify(c.pad)}`;
    assert.equal(isSmallMap(geometry(c)), SMALL_MAPS.includes(c), `${what}: path`);
    const onWasm = await inputGradient('wasm', c.input, c.filter, c.strides, c.pad);
    const onCpu = await inputGradient('cpu', c.input, c.filter, c.strides, c.pad);
    assertClose(onWasm, onCpu, what);
  }
});

test('wasm trains conv2dTranspose weights (the FCN upsampling layers) like the cpu backend', async () => {
  await initTrainingTf('wasm');
  // FCN-8s's x2 (4x4 stride 2) and x8 (16x16 stride 8, at the bench's 96x288: the phase planes).
  const cases = [
    { input: [2, 5, 6, 3], filter: [4, 4, 2, 3], output: [2, 10, 12, 2], stride: 2 },
    { input: [1, 12, 36, 3], filter: [16, 16, 3, 3], output: [1, 96, 288, 3], stride: 8 },
  ];
  for (const c of cases) {
    const gradientOn = async (backend: 'wasm' | 'cpu') => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = pseudoRandom(c.input, 4) as tf.Tensor4D;
        const weights = pseudoRandom(c.filter, 5) as tf.Tensor4D;
        const outputShape = c.output as [number, number, number, number];
        return tf
          .grad((w: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2dTranspose(x, w as tf.Tensor4D, outputShape, c.stride, 'same'))),
          )(weights)
          .dataSync() as Float32Array;
      });
    };
    assertClose(await gradientOn('wasm'), await gradientOn('cpu'), `conv2dTranspose stride ${c.stride}`);
  }
});

test('wasm depthwise-convolution gradients (input and filter) match the cpu backend', async () => {
  await initTrainingTf('wasm');
  const cases: Array<{ input: number[]; filter: number[]; strides: 1 | 2; pad: 'same' | 'valid' | number }> =
    [
      { input: [2, 9, 11, 4], filter: [3, 3, 4, 1], strides: 1, pad: 'same' },
      // MobileNetV3's strided 5x5 with torchvision's symmetric padding.
      { input: [1, 8, 8, 6], filter: [5, 5, 6, 1], strides: 2, pad: 2 },
      { input: [1, 9, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
      { input: [2, 7, 8, 2], filter: [3, 3, 2, 1], strides: 1, pad: 'valid' },
    ];
  const gradientsOn = async (backend: 'wasm' | 'cpu', c: (typeof cases)[number]) => {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const x = pseudoRandom(c.input, 6) as tf.Tensor4D;
      const w = pseudoRandom(c.filter, 7) as tf.Tensor4D;
      const reference = tf.depthwiseConv2d(x, pseudoRandom(c.filter, 8) as tf.Tensor4D, c.strides, c.pad);
      const [dx, dw] = tf.grads((input: tf.Tensor, filter: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.depthwiseConv2d(input as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad),
            reference,
          ),
        ),
      )([x, w]);
      return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array };
    });
  };
  for (const c of cases) {
    const what = `input ${c.input} filter ${c.filter} strides ${c.strides} pad ${c.pad}`;
    const onWasm = await gradientsOn('wasm', c);
    const onCpu = await gradientsOn('cpu', c);
    assertClose(onWasm.dx, onCpu.dx, `${what}: input gradient`);
    assertClose(onWasm.dw, onCpu.dw, `${what}: filter gradient`);
  }
});

for (const encoder of ['resnet18', 'mobilenetv3'] as const) {
  test(`a ${encoder} FCN-8s has the same weight gradients on wasm as on cpu`, async (t) => {
    await initTrainingTf('wasm');
    const config: FcnConfig = {
      encoder,
      numClasses: 3,
      height: 32,
      width: 64,
      widthMultiplier: 0.25,
      head: 'fcn8s',
      inputChannelOrder: 'RGB',
      normalization: TORCHVISION_NORMALIZATION,
    };
    // Every layer random, the zero-initialised residual branches included, so every path has a gradient.
    const weights = initialWeights(config, 3);
    for (const [name, entry] of weights) {
      const fanIn = entry.shape.length === 1 ? 100 : entry.shape.slice(0, -1).reduce((x, y) => x * y, 1);
      const values = tf.tidy(() =>
        tf.mul(pseudoRandom(entry.shape, name.length), Math.sqrt(6 / fanIn)).dataSync(),
      );
      weights.set(name, { ...entry, values: values as Float32Array });
    }
    const gradientsOn = async (backend: 'wasm' | 'cpu') => {
      await tf.setBackend(backend);
      const model = createFcn8s(config, { weights });
      try {
        const images = tf.mul(tf.add(pseudoRandom([2, 32, 64, 3], 9), 0.5), 255) as tf.Tensor4D;
        const { grads } = tf.variableGrads(
          () => tf.mean(tf.square(model.forward(images, { training: true }))) as tf.Scalar,
          [...model.params.values()],
        );
        const values = new Map<string, Float32Array>();
        for (const [name, variable] of model.params)
          values.set(name, grads[variable.name]!.dataSync() as Float32Array);
        return values;
      } finally {
        model.dispose();
      }
    };
    const onWasm = await gradientsOn('wasm');
    const onCpu = await gradientsOn('cpu');
    // Relative to each parameter's largest gradient: backends sum in different orders.
    let worst = 0;
    for (const [name, expected] of onCpu) {
      const actual = onWasm.get(name)!;
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < expected.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
      }
      assert.ok(maxAbs > 0, `${name}: no gradient on cpu`);
      worst = Math.max(worst, maxDiff / maxAbs);
      assert.ok(maxDiff <= 1e-4 * maxAbs, `${name}: max |wasm - cpu| ${maxDiff} > 1e-4 × ${maxAbs}`);
    }
    t.diagnostic(`${onCpu.size} parameters, worst max |wasm - cpu| / max |cpu| = ${worst.toExponential(2)}`);
  });
}
