// Choosing a quantised model by measured accuracy: each calibration method is tried with every
// quantisable layer in int8 and the best held-out mIoU wins; then, when the drop from fp32 is
// larger than allowed, each layer's cost is measured on its own (that layer alone back in float)
// and the costliest layers go back to float, one at a time, until the drop is within bounds.

import type { CalibrationMethod } from './ranges.js';

export interface Candidate {
  method: CalibrationMethod;
  floatLayers: ReadonlySet<string>;
}

/** Builds the candidate model and returns its held-out mIoU. */
export type MeasureCandidate = (candidate: Candidate) => Promise<number>;

export interface FloatLayer {
  layer: string;
  reason: string;
}

export interface SearchOptions {
  methods: readonly CalibrationMethod[];
  /** Quantisable layers, in graph order. */
  layers: readonly string[];
  /** 'auto': put layers back in float by measurement; otherwise exactly these stay float. */
  floatLayers: 'auto' | readonly string[];
  fp32MIoU: number;
  /** Largest allowed held-out mIoU drop (absolute, e.g. 0.01 = one point). */
  maxDrop: number;
  /** Measure every layer's cost even when the drop is already within bounds. */
  sensitivity: boolean;
  measure: MeasureCandidate;
  onStep?: (message: string) => void;
}

export interface SearchResult {
  methods: Array<{ method: CalibrationMethod; mIoU: number }>;
  method: CalibrationMethod;
  floatLayers: FloatLayer[];
  mIoU: number;
  /** Held-out mIoU with each layer alone back in float (when measured). */
  sensitivity?: Array<{ layer: string; mIoU: number }>;
}

const points = (value: number) => (value * 100).toFixed(2);

export async function searchQuantization(options: SearchOptions): Promise<SearchResult> {
  const { measure, fp32MIoU, maxDrop } = options;
  const step = options.onStep ?? (() => {});
  const fixed = options.floatLayers === 'auto' ? [] : [...options.floatLayers];
  const fixedSet = new Set(fixed);
  const floatLayers: FloatLayer[] = fixed.map((layer) => ({
    layer,
    reason: 'kept in float by --float-layers',
  }));

  const methods: SearchResult['methods'] = [];
  for (const method of options.methods) {
    const mIoU = await measure({ method, floatLayers: fixedSet });
    step(`${method}: held-out mIoU ${points(mIoU)} (fp32 ${points(fp32MIoU)})`);
    methods.push({ method, mIoU });
  }
  // The first of equals wins: the list is ordered from the simplest method.
  const best = methods.reduce((a, b) => (b.mIoU > a.mIoU ? b : a));
  let mIoU = best.mIoU;
  const overBudget = () => fp32MIoU - mIoU > maxDrop;
  const result: SearchResult = { methods, method: best.method, floatLayers, mIoU };
  if (!options.sensitivity && !(options.floatLayers === 'auto' && overBudget())) return result;

  const sensitivity: Array<{ layer: string; mIoU: number }> = [];
  for (const layer of options.layers) {
    if (fixedSet.has(layer)) continue;
    const value = await measure({ method: best.method, floatLayers: new Set([...fixed, layer]) });
    step(`${layer} in float: held-out mIoU ${points(value)} (all int8 ${points(best.mIoU)})`);
    sensitivity.push({ layer, mIoU: value });
  }
  result.sensitivity = sensitivity;
  if (options.floatLayers !== 'auto') return result;

  const chosen = new Set(fixed);
  const helpful = [...sensitivity].filter((entry) => entry.mIoU > best.mIoU).sort((a, b) => b.mIoU - a.mIoU);
  for (const entry of helpful) {
    if (!overBudget()) break;
    chosen.add(entry.layer);
    const value = await measure({ method: best.method, floatLayers: chosen });
    step(`float [${[...chosen].join(', ')}]: held-out mIoU ${points(value)}`);
    if (value <= mIoU) {
      // It helped alone but not together with the layers already in float: leave it in int8.
      chosen.delete(entry.layer);
      continue;
    }
    mIoU = value;
    floatLayers.push({
      layer: entry.layer,
      reason: `accuracy: held-out mIoU ${points(best.mIoU)} -> ${points(entry.mIoU)} with this layer alone in float`,
    });
  }
  result.mIoU = mIoU;
  return result;
}
