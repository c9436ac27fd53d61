// `edgeseg bench --models A B C ...`: a speed table of several models in one run, whatever their
// input sizes (encoders, widths, fp32 and int8 copies, bring-your-own networks): parameters and
// forward GFLOP from each graph, then alternating rounds of raw frames at each model's own size,
// medians, and each model's speed as a ratio to the first model and to the first of its size.

import { join } from 'node:path';
import type { EngineInfo } from '../engine/types.js';
import { type CompareOptions, median, type Side, timing, withAlternatingRounds } from './compare.js';
import { modelCost } from './model-cost.js';

export interface TableOptions extends Omit<CompareOptions, 'modelA' | 'modelB'> {
  models: readonly string[];
}

export interface TableRow {
  model: string;
  name: string;
  precision: string;
  /** HxW the model takes (and is fed: raw frames, no resize). */
  input: string;
  parameters: number;
  forwardGflop: number;
  engine: EngineInfo;
  inferenceMedianMs: number;
  frameMedianMs: number;
  framesPerSecond: number;
  /** Median over rounds of (first model's frame median / this one's): its speed, ×the first's. */
  vsFirst: number;
  /** The first model given with this input size, and the same ratio against it. */
  sameInputReference: string;
  vsSameInputReference: number;
}

export interface TableReport {
  rounds: number;
  framesPerRound: number;
  rows: TableRow[];
  /** Per round, each model's median frame time, in the order of `rows`. */
  roundMedians: number[][];
}

const inputOf = (side: Side) => `${side.engine.manifest.input.height}x${side.engine.manifest.input.width}`;

export async function benchModelTable(options: TableOptions): Promise<TableReport> {
  const say = options.onProgress ?? (() => {});
  return await withAlternatingRounds(
    options,
    () => {},
    async ({ sides, roundMedians }) => {
      const rows: TableRow[] = [];
      for (const [index, side] of sides.entries()) {
        say(`counting parameters and FLOPs of ${side.model}`);
        const manifest = side.engine.manifest;
        const { parameters, forwardFlops } = await modelCost(join(side.model, manifest.files.onnx), {
          name: manifest.input.name,
          dims: side.engine.info.inputDims,
          dtype: manifest.input.dtype,
        });
        const reference = sides.findIndex((other) => inputOf(other) === inputOf(side));
        const ratioTo = (to: number) => median(roundMedians.map((round) => round[to]! / round[index]!));
        rows.push({
          ...timing(side),
          name: manifest.name,
          input: inputOf(side),
          parameters,
          forwardGflop: forwardFlops / 1e9,
          vsFirst: ratioTo(0),
          sameInputReference: sides[reference]!.model,
          vsSameInputReference: ratioTo(reference),
        });
      }
      return { rounds: roundMedians.length, framesPerRound: options.framesPerRound, rows, roundMedians };
    },
  );
}
