// Config patches: plain JSON objects merged key by key (arrays and scalars replace). Keys that
// would reach Object.prototype are never copied, whatever a caller forgot to check.

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars replace. */
export function mergePatch(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) if (!UNSAFE_KEYS.has(key)) merged[key] = value;
  for (const [key, value] of Object.entries(patch))
    if (!UNSAFE_KEYS.has(key)) merged[key] = mergePatch(base[key], value);
  return merged;
}
