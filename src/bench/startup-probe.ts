// Child process of `edgeseg bench --startup`: starts one engine in a fresh process (as the daemon
// does at boot), runs a few frames, and prints the start time and the memory high-water mark.
// Argument: JSON { modelDir, options, runs }.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { OnnxEngine } from '../engine/onnx-engine.js';
import type { EngineOptions } from '../engine/types.js';

/** VmHWM (peak resident) and VmRSS of this process in MB, from /proc/self/status. */
function memoryMb(): { peak: number; resident: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { peak: kb('VmHWM') / 1024, resident: kb('VmRSS') / 1024 };
}

const { modelDir, options, runs } = JSON.parse(process.argv[2]!) as {
  modelDir: string;
  options: EngineOptions;
  runs: number;
};
const started = performance.now();
const engine = new OnnxEngine(modelDir, options);
await engine.start();
const startMs = performance.now() - started;
const input = new Float32Array(engine.info.inputDims.reduce((a, b) => a * b, 1));
for (let i = 0; i < runs; i++) await engine.run(input);
const memory = memoryMb();
process.stdout.write(
  `${JSON.stringify({ startMs, modelCache: engine.info.modelCache, peakMb: memory.peak, steadyMb: memory.resident })}\n`,
);
await engine.stop();
