// Small deterministic random-number tools shared by the data sources: seeded scenes, per-epoch
// shuffles and augmentation must replay exactly for a given seed (resumed runs see the same order).

import { mulberry32 } from '../model/random.js';

/** Mixes up to three integers into a well-spread 32-bit unsigned hash (murmur3 finaliser). */
export function mixSeed(a: number, b = 0, c = 0): number {
  let h = (a ^ Math.imul(b ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(c ^ 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seeded generator (model/random's mulberry32) with the helpers scenes and shuffles need. */
export class Random {
  /** Uniform in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(mixSeed(seed >>> 0, 0x2545f491));
  }

  range(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('Random.pick on an empty list');
    return item;
  }
}

/** The order 0..count-1 shuffled with Fisher-Yates, fixed by `seed`. */
export function shuffledIndices(count: number, seed: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const random = new Random(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}
