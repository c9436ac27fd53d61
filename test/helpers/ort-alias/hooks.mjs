// Module resolution hooks for register.mjs: onnxruntime-node is resolved as if imported from a file
// in the other prefix, so Node's own lookup finds that release (and its onnxruntime-common).
let parentURL;

export function initialize(data) {
  parentURL = data.parentURL;
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'onnxruntime-node' || specifier.startsWith('onnxruntime-node/'))
    return nextResolve(specifier, { ...context, parentURL });
  return nextResolve(specifier, context);
}
