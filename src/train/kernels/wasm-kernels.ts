// Training kernels for the WebAssembly backend of tfjs 4.22: Conv2DBackpropFilter (the weight
// gradient of conv2d and conv2dTranspose), which it lacks; a Conv2DBackpropInput (the input
// gradient) on its fast Conv2D, in front of its slow built-in one; and for MobileNetV3 the
// depthwise gradients of wasm-depthwise-kernels.ts.

import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../model/tf.js';
import { wasmDepthwiseKernels } from './wasm-depthwise-kernels.js';

interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

type RunKernel = (name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo;

/** Calls another wasm kernel directly (inside a kernel the engine must not record or track tensors). */
function kernelRunner(backend: WasmBackendLike): RunKernel {
  return (name, inputs, attrs) => {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`wasm kernel ${name} is not registered`);
    return kernel.kernelFunc({ inputs, backend: backend as never, attrs }) as TensorInfo;
  };
}

/** The attributes both convolution gradients share. */
interface ConvGradientAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface Conv2DBackpropFilterAttrs extends ConvGradientAttrs {
  filterShape: [number, number, number, number];
}

/** Channel-major copy of the input, reused across calls: a training step runs this kernel ~20 times. */
let channelMajorScratch = new Float32Array(0);

/**
 * dW[kh, kw, c, k] = Σ_{n, oh, ow} x[n, oh·s + kh − top, ow·s + kw − left, c] · dy[n, oh, ow, k].
 * For each filter offset (kh, kw) the shifted, strided input window is written channel-major as a
 * [C, M] matrix (M = N·outH·outW, zeros where the window hangs over the padding), and its gradient
 * slice is one untransposed wasm matmul [C, M]×[M, K] (the XNNPACK path, ~30 GFLOP/s here; the
 * transposed matmul and the Transpose kernel run ~10× slower). Memory stays at one window, not a
 * full im2col.
 */
const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const wasm = backend as unknown as WasmBackendLike;
  const run = kernelRunner(wasm);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const [batch, inHeight, inWidth, inChannels] = x.shape as [number, number, number, number];
  const { outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const windows = batch * outHeight * outWidth;
  const planeSize = batch * inHeight * inWidth;

  // Channel-major input [C][N·H·W] so that each window row is a (strided) contiguous read.
  if (channelMajorScratch.length < planeSize * inChannels)
    channelMajorScratch = new Float32Array(planeSize * inChannels);
  const channelMajor = channelMajorScratch;
  {
    const source = wasm.typedArrayFromHeap(x);
    for (let pixel = 0, offset = 0; pixel < planeSize; pixel++, offset += inChannels) {
      for (let c = 0; c < inChannels; c++) channelMajor[c * planeSize + pixel] = source[offset + c]!;
    }
  }

  const toDispose: TensorInfo[] = [];
  try {
    const dyMatrix = run('Reshape', { x: dy }, { shape: [1, windows, outChannels] });
    toDispose.push(dyMatrix);
    const window = wasm.makeOutput([1, inChannels, windows], 'float32');
    toDispose.push(window);
    // Each offset's [C, K] slice is copied into the output and freed at once: for fc6 (7x7x512x4096)
    // keeping the 49 slices and concatenating them held three copies of a 411 MB gradient at once.
    const sliceSize = inChannels * outChannels;
    const output = wasm.makeOutput([filterHeight * filterWidth * sliceSize], 'float32');
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        // Views are taken after every allocation: a growing wasm heap detaches older views.
        const windowValues = wasm.typedArrayFromHeap(window);
        const firstColumn = Math.min(outWidth, Math.max(0, Math.ceil((left - kw) / strideWidth)));
        const endColumn = Math.max(
          firstColumn,
          Math.min(outWidth, Math.ceil((inWidth + left - kw) / strideWidth)),
        );
        let target = 0;
        for (let c = 0; c < inChannels; c++) {
          for (let n = 0; n < batch; n++) {
            const imageBase = c * planeSize + n * inHeight * inWidth;
            for (let oh = 0; oh < outHeight; oh++) {
              const row = oh * strideHeight + kh - top;
              if (row < 0 || row >= inHeight) {
                windowValues.fill(0, target, target + outWidth);
                target += outWidth;
                continue;
              }
              const rowBase = imageBase + row * inWidth + kw - left;
              // Only the columns [firstColumn, endColumn) fall inside the image; the rest is padding.
              for (let ow = 0; ow < firstColumn; ow++) windowValues[target + ow] = 0;
              if (strideWidth === 1) {
                windowValues.set(
                  channelMajor.subarray(rowBase + firstColumn, rowBase + endColumn),
                  target + firstColumn,
                );
              } else {
                for (let ow = firstColumn; ow < endColumn; ow++)
                  windowValues[target + ow] = channelMajor[rowBase + ow * strideWidth]!;
              }
              for (let ow = endColumn; ow < outWidth; ow++) windowValues[target + ow] = 0;
              target += outWidth;
            }
          }
        }
        const product = run(
          'BatchMatMul',
          { a: window, b: dyMatrix },
          { transposeA: false, transposeB: false },
        );
        try {
          wasm
            .typedArrayFromHeap(output)
            .set(wasm.typedArrayFromHeap(product), (kh * filterWidth + kw) * sliceSize);
        } finally {
          wasm.disposeData(product.dataId);
        }
      }
    }
    try {
      return run('Reshape', { x: output }, { shape: filterShape });
    } finally {
      wasm.disposeData(output.dataId);
    }
  } finally {
    for (const tensor of toDispose) wasm.disposeData(tensor.dataId);
  }
};

interface Conv2DBackpropInputAttrs extends ConvGradientAttrs {
  inputShape: [number, number, number, number];
}

/** tfjs-backend-wasm's own Conv2DBackpropInput, kept for what the fast path below does not cover. */
let builtInConv2DBackpropInput: KernelFunc | undefined;

function builtIn(args: Parameters<KernelFunc>[0]): ReturnType<KernelFunc> {
  if (!builtInConv2DBackpropInput) throw new Error('wasm Conv2DBackpropInput is not registered');
  return builtInConv2DBackpropInput(args);
}

/**
 * dX of a stride-1 convolution is itself a stride-1 convolution: of dY with the filter turned by
 * 180° and its in/out channels swapped, padded by (K − 1 − pad) on each side. That runs on the
 * backend's XNNPACK Conv2D; tfjs-backend-wasm 4.22's own Conv2DBackpropInput is a direct loop that
 * took 70 % of a training step's kernel time (width 0.25, 96x288, batch 4: 10.0 s of 14.3 s). Strided
 * ones (the forward pass of conv2dTranspose, the FCN upsampling) keep the built-in kernel.
 */
const conv2DBackpropInput: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as Conv2DBackpropInputAttrs;
  const [strideHeight, strideWidth] = typeof strides === 'number' ? [strides, strides] : strides;
  if (dataFormat === 'NCHW' || strideHeight !== 1 || strideWidth !== 1) return builtIn(args);
  const wasm = backend as unknown as WasmBackendLike;
  const [filterHeight, filterWidth, inChannels, outChannels] = filter.shape as [
    number,
    number,
    number,
    number,
  ];
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    [filterHeight, filterWidth, inChannels, outChannels],
    1,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const { top, bottom, left, right } = info.padInfo;
  // Padding wider than the filter (explicit) would need a crop, not a pad: the built-in kernel does it.
  if (Math.max(top, bottom) > filterHeight - 1 || Math.max(left, right) > filterWidth - 1)
    return builtIn(args);
  // turned[kh, kw, k, c] = filter[KH−1−kh, KW−1−kw, c, k]
  const turned = wasm.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
  try {
    const source = wasm.typedArrayFromHeap(filter);
    const target = wasm.typedArrayFromHeap(turned);
    const taps = filterHeight * filterWidth;
    for (let tap = 0; tap < taps; tap++) {
      const from = (taps - 1 - tap) * inChannels * outChannels;
      const to = tap * inChannels * outChannels;
      for (let c = 0; c < inChannels; c++)
        for (let k = 0; k < outChannels; k++)
          target[to + k * inChannels + c] = source[from + c * outChannels + k]!;
    }
    return kernelRunner(wasm)('Conv2D', { x: dy, filter: turned }, {
      strides: [1, 1],
      pad: [
        [0, 0],
        [filterHeight - 1 - top, filterHeight - 1 - bottom],
        [filterWidth - 1 - left, filterWidth - 1 - right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    } as unknown as NamedAttrMap);
  } finally {
    wasm.disposeData(turned.dataId);
  }
};

const wasmTrainingKernels: KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  ...wasmDepthwiseKernels,
];

/**
 * Registers the kernels above once, and puts the faster Conv2DBackpropInput in front of the
 * built-in one; safe to call again (e.g. from several entry points).
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
  }
  const current = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (current && current.kernelFunc !== conv2DBackpropInput) {
    builtInConv2DBackpropInput = current.kernelFunc;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({ ...current, kernelFunc: conv2DBackpropInput });
  }
}
