// Training kernels for the WebAssembly backend of tfjs 4.22: Conv2DBackpropFilter (the weight
// gradient of conv2d and conv2dTranspose), which it lacks; a Conv2DBackpropInput (the input
// gradient) on its fast Conv2D, in front of its slow built-in one; fc6-like convolutions (filter
// large for the map) on wasm-small-map-conv.ts, forward and input gradient; and for MobileNetV3
// the depthwise gradients of wasm-depthwise-kernels.ts.

import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../model/tf.js';
import { disposeAll, heapFloats, kernelRunner, type WasmBackendLike } from './wasm-backend-access.js';
import { conv2DBackpropFilter } from './wasm-conv-filter-gradient.js';
import { wasmDepthwiseKernels } from './wasm-depthwise-kernels.js';
import { isSmallMap, smallMapConv2D, smallMapConv2DBackpropInput } from './wasm-small-map-conv.js';
import { stridedConv2DBackpropInput } from './wasm-strided-input-gradient.js';

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

/** tfjs-backend-wasm's own kernels that ours stand in front of, for what ours do not cover. */
const builtInKernels = new Map<string, KernelFunc>();

function builtIn(name: string, args: Parameters<KernelFunc>[0]): ReturnType<KernelFunc> {
  const kernel = builtInKernels.get(name);
  if (!kernel) throw new Error(`wasm ${name} is not registered`);
  return kernel(args);
}

interface Conv2DAttrs extends ConvGradientAttrs {
  dilations: [number, number] | number;
}

/** Conv2D: fc6-like convolutions (filter large for the map) on the small-map kernel, the rest built in. */
const conv2D: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs as { x: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, dilations } = attrs as unknown as Conv2DAttrs;
  if (dataFormat === 'NCHW') return builtIn('Conv2D', args);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (!isSmallMap(info)) return builtIn('Conv2D', args);
  const wasm = backend as unknown as WasmBackendLike;
  return smallMapConv2D(wasm, kernelRunner(wasm), info, x, filter);
};

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
  if (dataFormat === 'NCHW') return builtIn('Conv2DBackpropInput', args);
  const wasm = backend as unknown as WasmBackendLike;
  const geometry = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  if (isSmallMap(geometry))
    return smallMapConv2DBackpropInput(wasm, kernelRunner(wasm), geometry, dy, filter);
  const [strideHeight, strideWidth] = typeof strides === 'number' ? [strides, strides] : strides;
  if (strideHeight !== 1 || strideWidth !== 1)
    return stridedConv2DBackpropInput(wasm, kernelRunner(wasm), geometry, dy, filter);
  const [filterHeight, filterWidth, inChannels, outChannels] = filter.shape as [
    number,
    number,
    number,
    number,
  ];
  const { top, bottom, left, right } = geometry.padInfo;
  // Padding wider than the filter (explicit) would need a crop, not a pad: the built-in kernel does it.
  if (Math.max(top, bottom) > filterHeight - 1 || Math.max(left, right) > filterWidth - 1)
    return builtIn('Conv2DBackpropInput', args);
  // turned[kh, kw, k, c] = filter[KH−1−kh, KW−1−kw, c, k]: the wasm Transpose kernel swaps c and k
  // (a JavaScript loop took ~10 ms for fc7's 1M weights), then the taps are reversed block by block.
  const run = kernelRunner(wasm);
  const swapped = run('Transpose', { x: filter }, { perm: [0, 1, 3, 2] } as unknown as NamedAttrMap);
  const turned = wasm.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
  try {
    const { heap, starts } = heapFloats(wasm, [swapped, turned]);
    const [source, target] = starts as [number, number];
    const taps = filterHeight * filterWidth;
    const block = inChannels * outChannels;
    for (let tap = 0; tap < taps; tap++) {
      const from = source + (taps - 1 - tap) * block;
      heap.copyWithin(target + tap * block, from, from + block);
    }
    return run('Conv2D', { x: dy, filter: turned }, {
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
    disposeAll(wasm, swapped, turned);
  }
};

const wasmTrainingKernels: KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
  ...wasmDepthwiseKernels,
];

/** Our kernels that stand in front of a built-in one of the same name. */
const inFront: Array<[string, KernelFunc]> = [
  ['Conv2D', conv2D],
  ['Conv2DBackpropInput', conv2DBackpropInput],
];

/**
 * Registers the kernels above once, and puts ours in front of the built-in Conv2D and
 * Conv2DBackpropInput; safe to call again (e.g. from several entry points).
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
  }
  for (const [name, kernelFunc] of inFront) {
    const current = tf.getKernel(name, 'wasm');
    if (current && current.kernelFunc !== kernelFunc) {
      builtInKernels.set(name, current.kernelFunc);
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel({ ...current, kernelFunc });
    }
  }
}
