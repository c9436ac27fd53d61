// Training kernels the WebAssembly backend of tfjs 4.22 lacks. Conv2DBackpropFilter (the weight
// gradient of conv2d and conv2dTranspose) is the only one a VGG16 or ResNet18 FCN-8s training step
// needs there; MobileNetV3 also needs the depthwise gradients of wasm-depthwise-kernels.ts.

import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../model/tf.js';
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

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
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

const wasmTrainingKernels: KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  ...wasmDepthwiseKernels,
];

/** Registers the kernels above once; safe to call again (e.g. from several entry points). */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
  }
}
