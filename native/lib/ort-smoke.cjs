// Smoke test of a freshly built onnxruntime-node: load it from its build folder, then run an
// edgeseg model once on each execution provider and say which worked. Exit 1 when TensorRT or
// CUDA fails, because then the build is not what the board needs.
//   node native/lib/ort-smoke.cjs ONNXRUNTIME_JS_NODE_DIR MODEL_DIR
'use strict';
const { readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

async function main() {
  const [packageDir, modelDir] = process.argv.slice(2);
  if (!packageDir || !modelDir) throw new Error('usage: ort-smoke.cjs ONNXRUNTIME_JS_NODE_DIR MODEL_DIR');
  const ort = require(resolve(packageDir));
  const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8'));
  const { name, height, width, layout } = manifest.input;
  const dims = layout === 'NHWC' ? [1, height, width, 3] : [1, 3, height, width];
  let failed = false;
  for (const provider of ['tensorrt', 'cuda', 'cpu']) {
    try {
      const started = Date.now();
      const session = await ort.InferenceSession.create(join(modelDir, 'model.onnx'), {
        executionProviders: [provider],
      });
      const loaded = Date.now();
      const input = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)).fill(128), dims);
      await session.run({ [name]: input });
      const first = Date.now();
      await session.run({ [name]: input });
      console.log(
        `${provider}: ok (session ${loaded - started} ms, first run ${first - loaded} ms, second run ${Date.now() - first} ms)`,
      );
    } catch (error) {
      console.log(`${provider}: FAILED: ${error instanceof Error ? error.message : String(error)}`);
      if (provider !== 'cpu') failed = true;
    }
  }
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
