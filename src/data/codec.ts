// Colour <-> class conversion for label images: a 2^24-entry lookup table built once per codec,
// so decoding a label image is one table read per pixel; plus nearest-neighbour resizing of class
// maps (labels are never blended: a blended colour matches no class).

import type { ClassInfo } from '../model/manifest.js';
import { IGNORE_LABEL, type ImageSize } from './types.js';

/** Marks a colour (or label id) that belongs to no class: an error in the ground truth. */
export const UNKNOWN_CLASS = 254;

export type Rgb = readonly [number, number, number];

export interface ColourRule {
  color: Rgb;
  /** A class id, or IGNORE_LABEL for void regions. */
  classId: number;
}

export interface UnknownValue {
  /** `[r, g, b]` for colour labels, `[id]` for id labels. */
  value: number[];
  count: number;
  /** First occurrence (x, y) at native resolution. */
  x: number;
  y: number;
}

export function colourKey(r: number, g: number, b: number): number {
  return (r << 16) | (g << 8) | b;
}

export class LabelCodec {
  readonly classes: readonly ClassInfo[];
  private readonly colourTable = new Uint8Array(1 << 24).fill(UNKNOWN_CLASS);
  private readonly idTable = new Uint8Array(256).fill(UNKNOWN_CLASS);

  /**
   * `classes` give each class's colour; `extraColours` map further colours (void, merged classes)
   * to a class or IGNORE_LABEL; `labelIds` maps the values of id-coded label images (e.g. Cityscapes
   * `_labelIds.png`) to a class or IGNORE_LABEL.
   */
  constructor(
    classes: readonly ClassInfo[],
    extraColours: readonly ColourRule[] = [],
    labelIds: ReadonlyArray<readonly [number, number]> = [],
  ) {
    if (classes.length >= UNKNOWN_CLASS)
      throw new Error(`a codec holds at most ${UNKNOWN_CLASS - 1} classes`);
    this.classes = classes;
    for (const rule of extraColours) this.colourTable[colourKey(...rule.color)] = rule.classId;
    // Class colours win over extra rules that share a colour.
    for (const info of classes) {
      this.colourTable[colourKey(...info.color)] = info.ignore ? IGNORE_LABEL : info.id;
    }
    for (const [value, classId] of labelIds) this.idTable[value] = classId;
  }

  /** Class id of a colour: a class, IGNORE_LABEL, or UNKNOWN_CLASS. */
  classOfColour(r: number, g: number, b: number): number {
    return this.colourTable[colourKey(r, g, b)]!;
  }

  /**
   * Decodes `pixels` (H*W*channels, 3 or 4 channels; alpha ignored) into `classMap`; returns the
   * number of pixels whose colour is unknown (they become UNKNOWN_CLASS).
   */
  decodeColours(pixels: Uint8Array, channels: number, classMap: Uint8Array): number {
    const table = this.colourTable;
    let unknown = 0;
    for (let i = 0, o = 0; i < classMap.length; i++, o += channels) {
      const id = table[(pixels[o]! << 16) | (pixels[o + 1]! << 8) | pixels[o + 2]!]!;
      classMap[i] = id;
      if (id === UNKNOWN_CLASS) unknown++;
    }
    return unknown;
  }

  /** Decodes an id-coded label image (one byte per pixel); returns the count of unmapped values. */
  decodeIds(values: Uint8Array, channels: number, classMap: Uint8Array): number {
    const table = this.idTable;
    let unknown = 0;
    for (let i = 0, o = 0; i < classMap.length; i++, o += channels) {
      const id = table[values[o]!]!;
      classMap[i] = id;
      if (id === UNKNOWN_CLASS) unknown++;
    }
    return unknown;
  }

  /** Colour (or id value) statistics of the UNKNOWN_CLASS pixels in a decoded map, for reports. */
  static unknownValues(
    raw: Uint8Array,
    channels: number,
    classMap: Uint8Array,
    width: number,
    coded: 'colour' | 'ids',
    limit = 20,
  ): UnknownValue[] {
    const found = new Map<number, UnknownValue>();
    for (let i = 0; i < classMap.length; i++) {
      if (classMap[i] !== UNKNOWN_CLASS) continue;
      const o = i * channels;
      const key = coded === 'colour' ? colourKey(raw[o]!, raw[o + 1]!, raw[o + 2]!) : raw[o]!;
      const entry = found.get(key);
      if (entry) entry.count++;
      else {
        const value = coded === 'colour' ? [raw[o]!, raw[o + 1]!, raw[o + 2]!] : [raw[o]!];
        found.set(key, { value, count: 1, x: i % width, y: Math.floor(i / width) });
      }
    }
    return [...found.values()].sort((a, b) => b.count - a.count).slice(0, limit);
  }
}

/** Nearest-neighbour resize of a class map (pixel centres aligned, as image resizers do). */
export function resizeClassMap(source: Uint8Array, from: ImageSize, target: Uint8Array, to: ImageSize): void {
  if (from.height === to.height && from.width === to.width) {
    target.set(source.subarray(0, to.height * to.width));
    return;
  }
  const columns = new Uint32Array(to.width);
  for (let x = 0; x < to.width; x++) {
    columns[x] = Math.min(from.width - 1, Math.floor(((x + 0.5) * from.width) / to.width));
  }
  for (let y = 0; y < to.height; y++) {
    const sourceRow =
      Math.min(from.height - 1, Math.floor(((y + 0.5) * from.height) / to.height)) * from.width;
    const targetRow = y * to.width;
    for (let x = 0; x < to.width; x++) target[targetRow + x] = source[sourceRow + columns[x]!]!;
  }
}

/** Colour-coded RGB rendering of a class map (ignore and unknown pixels black). */
export function colouriseClassMap(
  classMap: Uint8Array,
  classes: readonly ClassInfo[],
  out?: Uint8Array,
): Uint8Array {
  const rgb = out ?? new Uint8Array(classMap.length * 3);
  for (let i = 0; i < classMap.length; i++) {
    const colour = classes[classMap[i]!]?.color;
    rgb[i * 3] = colour?.[0] ?? 0;
    rgb[i * 3 + 1] = colour?.[1] ?? 0;
    rgb[i * 3 + 2] = colour?.[2] ?? 0;
  }
  return rgb;
}
