// Run by ort-compat.test.ts under test/helpers/ort-alias: the engine against another
// onnxruntime-node release. Writes the masks and the first raw output to OUT_DIR and prints what
// the engine reported, as JSON.
//   node --import tsx --import ./test/helpers/ort-alias/register.mjs ort-compat-child.ts MODEL_DIR OUT_DIR

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createSession,
  maxOnnxOpset,
  onnxRuntimeVersion,
  ortPackageDir,
} from '../../src/engine/ort-binding.js';
import { verifyModelDir } from '../../src/model-store/model-store.js';
import { errorMessage } from '../../src/system/errors.js';
import { segmentScenes } from './ort-compat-scenes.js';

const [modelDir, outDir] = process.argv.slice(2);
if (!modelDir || !outDir) throw new Error('usage: ort-compat-child.ts MODEL_DIR OUT_DIR');
const run = await segmentScenes(modelDir, join(outDir, 'engine-cache'));
await writeFile(join(outDir, 'masks.bin'), run.masks);
await writeFile(join(outDir, 'output.bin'), new Uint8Array(run.firstOutput.buffer));
// `edgeseg models verify` checks the manifest against the graph through the same seam.
await verifyModelDir(modelDir);
// The session options must reach the native binding (1.11 drops them for a model given as bytes):
// its binding names no "tensorrt", so a session asking for it must be refused.
const refusal = await createSession(join(modelDir, 'model.onnx'), {
  executionProviders: ['tensorrt', 'cpu'],
}).then(
  () => 'accepted',
  (error: unknown) => errorMessage(error),
);
console.log(
  JSON.stringify({
    refusal,
    onnxRuntimeVersion,
    ortPackageDir,
    maxOnnxOpset: maxOnnxOpset ?? null,
    info: run.info,
    maskWidth: run.maskWidth,
    maskHeight: run.maskHeight,
  }),
);
