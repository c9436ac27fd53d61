// Registers TensorFlow.js's gradient functions from tfjs-core itself, so that training needs
// tfjs-core and its backends only, not the whole @tensorflow/tfjs package (about 220 MB more with
// tfjs-layers, -converter, -data and -backend-webgl, none of which edgeseg uses).
//
// tfjs-core's CommonJS bundle, the build Node loads, registers no gradients. They ship in its
// ES-module build as dist/register_all_gradients.js, whose imports leave out the `.js` extension that
// bundlers add and Node's ES-module loader needs, in a package not marked "type": "module". A resolve
// hook limited to that folder adds the extension and the module format. The ES-module copy of
// tfjs-core that this loads shares the engine and the gradient registry of the CommonJS one (tfjs
// keeps both on the global object), exactly as @tensorflow/tfjs's own bundle does.

import { register } from 'node:module';

const TFJS_CORE_ESM_HOOK = `
const DIST = '/node_modules/@tensorflow/tfjs-core/dist/';
const isEsmBuild = (url) => url.includes(DIST) && !/\\/tf-core[^/]*\\.js$/.test(url);
export async function resolve(specifier, context, nextResolve) {
  const fromEsmBuild = context.parentURL !== undefined && isEsmBuild(context.parentURL);
  const extensionless = fromEsmBuild && specifier.startsWith('.') && !specifier.endsWith('.js');
  const resolved = await nextResolve(extensionless ? specifier + '.js' : specifier, context);
  return isEsmBuild(resolved.url) ? { ...resolved, format: 'module' } : resolved;
}`;

register(`data:text/javascript,${encodeURIComponent(TFJS_CORE_ESM_HOOK)}`);
// A variable keeps TypeScript from type-checking a file that is not part of tfjs-core's typed API.
const gradients = '@tensorflow/tfjs-core/dist/register_all_gradients.js';
await import(gradients);
