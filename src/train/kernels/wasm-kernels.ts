// Training kernels for the WebAssembly backend of tfjs 4.22: Conv2DBackpropFilter (the weight
// gradient of conv2d and conv2dTranspose), which it lacks; a Conv2DBackpropInput (the input
// gradient) on its fast Conv2D, in front of its slow built-in one; and for MobileNetV3 the
// depthwise gradients of wasm-depthwise-kernels.ts.

import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../model/tf.js';
import { kernelRunner, type WasmBackendLike } from './wasm-backend-access.js';
import { conv2DBackpropFilter } from './wasm-conv-filter-gradient.js';
import { wasmDepthwiseKernels } from './wasm-depthwise-kernels.js';

/** The attributes of Conv2DBackpropInput. */
interface ConvGradientAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

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
