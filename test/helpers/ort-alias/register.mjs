// `node --import ./test/helpers/ort-alias/register.mjs ...` makes every ESM import of
// onnxruntime-node (and its subpaths) resolve from EDGESEG_TEST_ORT_PREFIX/node_modules instead of
// the project's: tests run the unchanged engine against another onnxruntime-node release. Only that
// process is affected; no production code path knows about it.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

const prefix = process.env.EDGESEG_TEST_ORT_PREFIX;
if (!prefix)
  throw new Error('ort-alias: set EDGESEG_TEST_ORT_PREFIX to a folder holding node_modules/onnxruntime-node');
register('./hooks.mjs', import.meta.url, {
  data: { parentURL: pathToFileURL(`${prefix}/package.json`).href },
});
