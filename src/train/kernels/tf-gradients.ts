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

// Relative imports inside the ES-module build are answered without asking Node's resolver (every
// one is a .js file named without its extension, in tfjs-core 4.22): each hook call crosses to the loader
// thread and back, and the build has about 2,400 of them.
const TFJS_CORE_ESM_HOOK = `
const DIST = '/node_modules/@tensorflow/tfjs-core/dist/';
const isEsmBuild = (url) => url.includes(DIST) && !/\\/tf-core[^/]*\\.js$/.test(url);
export async function resolve(specifier, context, nextResolve) {
  const parent = context.parentURL;
  if (parent !== undefined && isEsmBuild(parent) && specifier.startsWith('.')) {
    const url = new URL(specifier.endsWith('.js') ? specifier : specifier + '.js', parent).href;
    return { url, format: 'module', shortCircuit: true };
  }
  const resolved = await nextResolve(specifier, context);
  return isEsmBuild(resolved.url) ? { ...resolved, format: 'module' } : resolved;
}`;

register(`data:text/javascript,${encodeURIComponent(TFJS_CORE_ESM_HOOK)}`);
// A variable keeps TypeScript from type-checking a file that is not part of tfjs-core's typed API.
const gradients = '@tensorflow/tfjs-core/dist/register_all_gradients.js';
await import(gradients);
