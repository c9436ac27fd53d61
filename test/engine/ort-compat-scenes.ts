// Shared by ort-compat.test.ts and the child it runs under another onnxruntime-node: the demo model
// segments a few synthetic road scenes through the project's engine (CPU), and the masks and the
// first raw output are what both sides compare.

import { renderSyntheticScene } from '../../src/data/synthetic-road.js';
import { OnnxEngine } from '../../src/engine/onnx-engine.js';
import type { EngineInfo } from '../../src/engine/types.js';
import { Segmenter } from '../../src/segment/segmenter.js';

export const SCENE_SEEDS = [0x80000000, 0x80000001, 0x80000002];

export interface SceneRun {
  info: EngineInfo;
  maskWidth: number;
  maskHeight: number;
  /** The class masks of SCENE_SEEDS, one after the other. */
  masks: Uint8Array;
  /** The raw output for the first scene. */
  firstOutput: Float32Array;
}

export async function segmentScenes(modelDir: string, engineCacheDir: string): Promise<SceneRun> {
  // The board's chain, so the fallback on a CPU-only build is exercised too.
  const engine = new OnnxEngine(modelDir, {
    runtime: 'onnxruntime',
    executionProviders: ['tensorrt', 'cuda', 'cpu'],
    tensorrt: { fp16: true, engineCacheDir },
  });
  const segmenter = new Segmenter(engine);
  await segmenter.ready();
  const { height, width } = engine.manifest.input;
  const chunks: Uint8Array[] = [];
  let firstOutput = new Float32Array(0);
  for (const seed of SCENE_SEEDS) {
    const scene = renderSyntheticScene(seed, { height, width });
    const result = await segmenter.segment({ data: scene.image, width, height });
    chunks.push(result.classMask.slice());
    if (firstOutput.length === 0) firstOutput = Float32Array.from(result.rawOutput as Float32Array);
  }
  const run: SceneRun = {
    info: engine.info,
    maskWidth: segmenter.post.width,
    maskHeight: segmenter.post.height,
    masks: Uint8Array.from(chunks.flatMap((chunk) => [...chunk])),
    firstOutput,
  };
  await engine.stop();
  return run;
}
