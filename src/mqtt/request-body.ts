// The border for request payloads: bytes from the broker become a bounded, prototype-safe JSON
// object before any code that recurses (zod, merges, JSON.stringify) can see them. Every limit
// here is far above what a real request needs and far below what could stall the daemon.

import { errorMessage, UserError } from '../system/errors.js';

export const REQUEST_LIMITS = {
  /** Nesting of objects and arrays (a config patch needs 5: publish.mask.width is 3). */
  maxDepth: 8,
  /** Objects, arrays and values in the whole request. */
  maxNodes: 20_000,
  /** Characters in one string or key. */
  maxStringLength: 4096,
  /** Keys in one object or items in one array. */
  maxEntries: 1024,
  /** Characters of a string transaction; numbers must be safe integers. */
  maxTransactionLength: 128,
} as const;

/** Keys that would reach Object.prototype through a merge or an assignment. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type Transaction = string | number;

export interface ParsedRequest {
  body: Record<string, unknown>;
  /** The request's transaction when it is usable (echoed in the response). */
  transaction: Transaction | undefined;
}

/** Parses a request payload; throws a UserError that says what is wrong, never echoing the bytes. */
export function parseRequestBody(payload: Buffer): ParsedRequest {
  const text = payload.toString('utf8').trim();
  if (text.length === 0) return { body: {}, transaction: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`payload is not valid JSON: ${errorMessage(error).slice(0, 200)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UserError('payload must be a JSON object, e.g. {"transaction": "1"}');
  const body = parsed as Record<string, unknown>;
  // The transaction is checked first so that a request failing a later check is still answered
  // with it, unless it is the transaction itself that is unusable.
  const transaction = usableTransaction(body.transaction);
  try {
    assertBounded(body);
  } catch (error) {
    throw Object.assign(error as Error, { transaction });
  }
  if (body.transaction !== undefined && transaction === undefined)
    throw new UserError(
      `transaction: must be a string of at most ${REQUEST_LIMITS.maxTransactionLength} characters or an integer`,
    );
  return { body, transaction };
}

/** A transaction the response may echo: a short string or a safe integer. */
export function usableTransaction(value: unknown): Transaction | undefined {
  if (typeof value === 'string' && value.length <= REQUEST_LIMITS.maxTransactionLength) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return undefined;
}

/** Walks the value without recursion, enforcing depth, size, string and key limits. */
function assertBounded(root: unknown): void {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: 1, path: '' }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (++nodes > REQUEST_LIMITS.maxNodes)
      throw new UserError(`payload has more than ${REQUEST_LIMITS.maxNodes} values`);
    const where = path || 'payload';
    if (typeof value === 'string') {
      if (value.length > REQUEST_LIMITS.maxStringLength)
        throw new UserError(`${where}: strings are limited to ${REQUEST_LIMITS.maxStringLength} characters`);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > REQUEST_LIMITS.maxDepth)
      throw new UserError(`${where}: nested deeper than ${REQUEST_LIMITS.maxDepth} levels`);
    const entries = Array.isArray(value)
      ? value.map((item, index) => [String(index), item] as const)
      : Object.entries(value);
    if (entries.length > REQUEST_LIMITS.maxEntries)
      throw new UserError(`${where}: more than ${REQUEST_LIMITS.maxEntries} entries`);
    for (const [key, item] of entries) {
      if (!Array.isArray(value)) {
        if (FORBIDDEN_KEYS.has(key)) throw new UserError(`${where}: the key "${key}" is not allowed`);
        if (key.length > REQUEST_LIMITS.maxStringLength)
          throw new UserError(`${where}: keys are limited to ${REQUEST_LIMITS.maxStringLength} characters`);
      }
      stack.push({ value: item, depth: depth + 1, path: path ? `${path}.${key}` : key });
    }
  }
}

/** The transaction of an oversized request, read from its first kilobyte only (it is never parsed whole). */
export function leadingTransaction(payload: Buffer): Transaction | undefined {
  const head = payload.subarray(0, 1024).toString('utf8');
  const match = /"transaction"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,15})(?=\s*[,}])/.exec(head);
  if (!match) return undefined;
  try {
    return usableTransaction(JSON.parse(match[1]!));
  } catch {
    return undefined;
  }
}
