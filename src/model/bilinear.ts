// Bilinear upsampling kernels for transposed convolutions, as FCN's `upsample_filt`: with stride f
// and kernel 2f, a transposed convolution with this kernel is exact bilinear interpolation.

/** The 2-D bilinear filter of size k×k, row-major (FCN's upsample_filt). */
export function upsampleFilter(kernelSize: number): Float32Array {
  const factor = Math.floor((kernelSize + 1) / 2);
  const center = kernelSize % 2 === 1 ? factor - 1 : factor - 0.5;
  const filter = new Float32Array(kernelSize * kernelSize);
  for (let i = 0; i < kernelSize; i++) {
    for (let j = 0; j < kernelSize; j++) {
      filter[i * kernelSize + j] = (1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor);
    }
  }
  return filter;
}

/** Kernel size the original implementation uses for an upsampling factor: 2f - f mod 2. */
export function kernelSizeForFactor(factor: number): number {
  return 2 * factor - (factor % 2);
}

/**
 * A tfjs conv2dTranspose filter [k, k, outChannels, inChannels] that upsamples each of `channels`
 * channels independently (class c -> class c, zeros elsewhere: no cross-talk between classes).
 */
export function bilinearKernel(kernelSize: number, channels: number): Float32Array {
  const filter = upsampleFilter(kernelSize);
  const kernel = new Float32Array(kernelSize * kernelSize * channels * channels);
  for (let p = 0; p < kernelSize * kernelSize; p++) {
    for (let c = 0; c < channels; c++) kernel[p * channels * channels + c * channels + c] = filter[p]!;
  }
  return kernel;
}
