// Pictures of a segmentation result at the frame's size, into buffers reused across frames: the
// class mask (point or linear filter), the overlay and the colour mask, plus the class fractions
// with ignored classes left out. `infer`, the daemon's overlay topic and its video outputs use it.

import type { RgbPixels } from '../engine/preprocess.js';
import type { ClassInfo, ModelManifest } from '../model/manifest.js';
import { countedFractions } from './class-filter.js';
import { blendOverlay, colourMask } from './render.js';
import { type FilterMode, MaskUpsampler, type ScoreMap } from './score-upsample.js';
import type { SegmentationResult } from './segmenter.js';

export interface PictureOptions {
  filterMode: FilterMode;
  /** Class ids left untinted and uncounted (--ignore-class). */
  ignoredClassIds: readonly number[];
  alpha: number;
}

/** Frame-size masks and overlays of segmentation results, into buffers reused across frames. */
export class FramePictures {
  private readonly upsampler: MaskUpsampler;
  private frameMask = new Uint8Array(0);
  private pixels = new Uint8Array(0);
  private readonly fractions: Float64Array;

  constructor(
    readonly classes: readonly ClassInfo[],
    manifest: ModelManifest,
    public options: PictureOptions,
  ) {
    this.upsampler = new MaskUpsampler(manifest.output, classes.length);
    this.fractions = new Float64Array(classes.length);
  }

  /**
   * The class mask at `size` (a frame's), in `out` or a buffer of this object's (valid until the
   * next call).
   */
  mask(result: ScoreMap, size: { width: number; height: number }, out?: Uint8Array): Uint8Array {
    const pixels = size.width * size.height;
    if (!out && this.frameMask.length !== pixels) this.frameMask = new Uint8Array(pixels);
    return this.upsampler.run(
      result,
      size.width,
      size.height,
      this.options.filterMode,
      out ?? this.frameMask,
    );
  }

  /** The frame blended with the class colours, as RGB, in `out` or a buffer of this object's. */
  overlay(result: SegmentationResult, frame: RgbPixels, out?: Uint8Array): Uint8Array {
    const blend = { alpha: this.options.alpha, ignoredClassIds: this.options.ignoredClassIds };
    const scratch = out ?? this.rgbBuffer(frame);
    // Point filtering samples the model-size mask directly; linear needs the frame-size mask.
    if (this.options.filterMode === 'point')
      return blendOverlay(frame, result.classMask, result.width, result.height, this.classes, {
        ...blend,
        letterbox: result.letterbox,
        scratch,
      });
    return blendOverlay(frame, this.mask(result, frame), frame.width, frame.height, this.classes, {
      ...blend,
      scratch,
    });
  }

  /** The frame-size mask in the class colours, as RGB, in `out` or a buffer of this object's. */
  colourMask(result: SegmentationResult, frame: RgbPixels, out?: Uint8Array): Uint8Array {
    return colourMask(this.mask(result, frame), this.classes, out ?? this.rgbBuffer(frame));
  }

  /** Class name → fraction of the counted pixels (ignored classes left out), at model resolution. */
  classFractions(result: SegmentationResult): Record<string, number> {
    const { ignoredClassIds } = this.options;
    const counted = countedFractions(result.classFractions, ignoredClassIds, this.fractions);
    return Object.fromEntries(
      this.classes
        .filter((cls) => !ignoredClassIds.includes(cls.id))
        .map((cls) => [cls.name, counted[cls.id]!]),
    );
  }

  private rgbBuffer(frame: RgbPixels): Uint8Array {
    if (this.pixels.length !== frame.width * frame.height * 3)
      this.pixels = new Uint8Array(frame.width * frame.height * 3);
    return this.pixels;
  }
}
