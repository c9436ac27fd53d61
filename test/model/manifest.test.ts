// Manifest precision: manifests written before int8 existed still load (as fp32), and a bad
// precision or quantization record is refused naming the field.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseManifest } from '../../src/model/manifest.js';
import { FileError } from '../../src/system/errors.js';
import { repoRoot } from '../helpers/cli.js';

async function demoManifest(): Promise<Record<string, unknown>> {
  const text = await readFile(join(repoRoot, 'models/synthetic-road-fcn8s/manifest.json'), 'utf8');
  return JSON.parse(text) as Record<string, unknown>;
}

test('a manifest without precision (written before int8) loads as fp32', async () => {
  const json = await demoManifest();
  delete json.precision;
  const manifest = parseManifest(json, 'manifest.json');
  assert.equal(manifest.precision, 'fp32');
  assert.equal(manifest.quantization, undefined);
});

test('an unknown precision or a malformed quantization record names the field', async () => {
  const cases: Array<[string, (json: Record<string, unknown>) => void, RegExp]> = [
    ['precision', (json) => (json.precision = 'int4'), /precision:/],
    [
      'quantization.activations',
      (json) => {
        json.precision = 'int8';
        json.quantization = { format: 'qdq', weights: 'int8-per-channel-symmetric', activations: 'uint4' };
      },
      /quantization\.activations:/,
    ],
  ];
  for (const [field, edit, pattern] of cases) {
    const json = await demoManifest();
    edit(json);
    assert.throws(
      () => parseManifest(json, 'manifest.json'),
      (error: unknown) => error instanceof FileError && pattern.test(error.message),
      field,
    );
  }
});
