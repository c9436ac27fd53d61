// The depthwise-convolution gradients the WebAssembly backend of tfjs 4.22 lacks (MobileNetV3's
// training step needs both): DepthwiseConv2dNativeBackpropInput and ...BackpropFilter, as plain loops
// over the wasm heap. Depthwise work is a small share of a step (k·k multiply-adds per output value),
// so no im2col or matmul is worth it here.

import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { tf } from '../../model/tf.js';

interface WasmHeap {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

interface DepthwiseAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

type Geometry = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function geometry(inputShape: number[], filterShape: number[], attrs: NamedAttrMap): Geometry {
  const { strides, dilations, pad, dimRoundingMode } = attrs as unknown as DepthwiseAttrs;
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
}

/**
 * Calls `visit(xIndex, dyIndex, wIndex)` for every (input, output, filter) triple a depthwise
 * convolution multiplies: output channel c·m + q reads input channel c through filter [kh, kw, c, q].
 */
function forEachTap(info: Geometry, visit: (x: number, dy: number, w: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  const multiplier = outChannels / inChannels;
  for (let n = 0; n < batchSize; n++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let kh = 0; kh < filterHeight; kh++) {
        const ih = oh * strideHeight + kh * dilationHeight - top;
        if (ih < 0 || ih >= inHeight) continue;
        for (let ow = 0; ow < outWidth; ow++) {
          const dyBase = ((n * outHeight + oh) * outWidth + ow) * outChannels;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw * dilationWidth - left;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((n * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (kh * filterWidth + kw) * outChannels;
            for (let c = 0; c < inChannels; c++)
              for (let q = 0; q < multiplier; q++)
                visit(xBase + c, dyBase + c * multiplier + q, wBase + c * multiplier + q);
          }
        }
      }
}

/**
 * A depthwise gradient: a zeroed float32 output of `shape`, to which the visitor that `term` makes
 * adds every tap's product. `term` takes its heap views after the allocation: a growing wasm heap
 * detaches older ones.
 */
function sumOverTaps(
  backend: unknown,
  info: Geometry,
  shape: number[],
  term: (sum: Float32Array, heap: WasmHeap) => (x: number, dy: number, w: number) => void,
): TensorInfo {
  const wasm = backend as WasmHeap;
  const output = wasm.makeOutput(shape, 'float32');
  const sum = wasm.typedArrayFromHeap(output);
  sum.fill(0);
  forEachTap(info, term(sum, wasm));
  return output;
}

/** dx[n, ih, iw, c] = Σ dy[n, oh, ow, c·m + q] · w[kh, kw, c, q] over the taps that read (ih, iw). */
const depthwiseBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const inputShape = (attrs as unknown as { inputShape: number[] }).inputShape;
  return sumOverTaps(backend, geometry(inputShape, filter.shape, attrs!), inputShape, (dx, heap) => {
    const dyValues = heap.typedArrayFromHeap(dy);
    const weights = heap.typedArrayFromHeap(filter);
    return (x, d, w) => {
      dx[x]! += dyValues[d]! * weights[w]!;
    };
  });
};

/** dw[kh, kw, c, q] = Σ x[n, ih, iw, c] · dy[n, oh, ow, c·m + q] over every output position. */
const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const filterShape = (attrs as unknown as { filterShape: number[] }).filterShape;
  return sumOverTaps(backend, geometry(x.shape, filterShape, attrs!), filterShape, (dw, heap) => {
    const xValues = heap.typedArrayFromHeap(x);
    const dyValues = heap.typedArrayFromHeap(dy);
    return (i, d, w) => {
      dw[w]! += xValues[i]! * dyValues[d]!;
    };
  });
};

export const wasmDepthwiseKernels: KernelConfig[] = [
  {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    kernelFunc: depthwiseBackpropInput,
  },
  {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    kernelFunc: depthwiseBackpropFilter,
  },
];
