// Smoke test of a freshly built onnxruntime-node: load it from its build folder, then run an
// edgeseg model once on each execution provider and say which worked. Exit 1 when TensorRT or
// CUDA fails, because then the build is not what the board needs.
//   node native/lib/ort-smoke.cjs ONNXRUNTIME_JS_NODE_DIR MODEL_DIR
// onnxruntime 1.11 (JetPack 4.6's) refuses the demo model's opset 17 and registers only a "cpu"
// backend in JavaScript (the patched binding adds TensorRT and CUDA behind it): this script then
// loads a copy stamped opset 16 (the demo model uses no operator opset 17 added; edgeseg's engine
// checks that in src/engine/onnx-opset.ts) and asks for [provider, "cpu"].
'use strict';
const { mkdtempSync, readFileSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

function opset16Copy(modelPath) {
  const { onnx } = require(require.resolve('onnx-proto', { paths: [__dirname] }));
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  for (const entry of model.opsetImport) if (!entry.domain) entry.version = 16;
  const copy = join(mkdtempSync(join(tmpdir(), 'ort-smoke-')), 'model.onnx');
  writeFileSync(copy, onnx.ModelProto.encode(model).finish());
  return copy;
}

async function main() {
  const [packageDir, modelDir] = process.argv.slice(2);
  if (!packageDir || !modelDir) throw new Error('usage: ort-smoke.cjs ONNXRUNTIME_JS_NODE_DIR MODEL_DIR');
  const ort = require(resolve(packageDir));
  const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8'));
  const { name, height, width, layout } = manifest.input;
  const dims = layout === 'NHWC' ? [1, height, width, 3] : [1, 3, height, width];
  const legacy = typeof ort.listSupportedBackends !== 'function';
  const modelPath = legacy ? opset16Copy(join(modelDir, 'model.onnx')) : join(modelDir, 'model.onnx');
  let failed = false;
  for (const provider of ['tensorrt', 'cuda', 'cpu']) {
    try {
      const started = Date.now();
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: legacy && provider !== 'cpu' ? [provider, 'cpu'] : [provider],
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
