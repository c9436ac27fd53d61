import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkData } from '../../src/data/checker.js';
import { createDataSource } from '../../src/data/registry.js';
import { FileError } from '../../src/system/errors.js';
import { makeTempDir } from '../helpers/tmp.js';

/** A user's plugin as a plain ES module; `overrides` is spliced into the returned object. */
function pluginSource(overrides = '', labelValue = 'i % 2'): string {
  return `
export default function createDataSource(options) {
  const height = 32, width = 64, count = options.count ?? 5;
  async function* batches(n, batchSize) {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const images = new Uint8Array(size * height * width * 3).fill(90);
      const labels = new Uint8Array(size * height * width);
      for (let i = 0; i < labels.length; i++) labels[i] = ${labelValue};
      yield { size, height, width, images, labels, names: Array.from({ length: size }, (_, k) => 'tile-' + (start + k)) };
    }
  }
  return {
    name: 'tiles',
    imageSize: { height, width },
    numClasses: 2,
    classes: [{ id: 0, name: 'ground', color: [0, 0, 0] }, { id: 1, name: 'lane', color: [255, 255, 0] }],
    labelColors: [[0, 0, 0], [255, 255, 0]],
    numTraining: count,
    numValidation: 2,
    trainGenerator: (batchSize) => batches(count, batchSize),
    validGenerator: (batchSize) => batches(2, batchSize),
    ${overrides}
  };
}
`;
}

async function writePlugin(source: string): Promise<string> {
  const dir = await makeTempDir();
  const path = join(dir, 'my-source.mjs');
  await writeFile(path, source);
  return path;
}

test('a user module exporting a factory plugs in by path, options passed through', async () => {
  const path = await writePlugin(pluginSource());
  const source = await createDataSource(path, { count: 7 });
  assert.equal(source.name, 'tiles');
  assert.equal(source.numTraining, 7);
  assert.deepEqual(source.labelColors, [
    [0, 0, 0],
    [255, 255, 0],
  ]);
  const sizes: number[] = [];
  for await (const batch of source.trainGenerator(3)) sizes.push(batch.size);
  assert.deepEqual(sizes, [3, 3, 1]);
  const report = await checkData(path, {});
  assert.equal(report.valid, true);
  assert.equal(report.samples.checked, 7);
});

test('contract violations name the module and the field at fault', async () => {
  const cases: Array<[string, RegExp]> = [
    ['imageSize: { height: 100, width: 64 },', /`imageSize.height` must be a positive multiple of 32/],
    ['numClasses: 3,', /`numClasses` is 3 but there are 2 classes/],
    ['validGenerator: undefined,', /`validGenerator` must be a function/],
    [
      "classes: [{ name: 'ground', color: [0, 0] }, { name: 'lane', color: [1, 2, 3] }],",
      /`classes\[0\].color`/,
    ],
    ['numTraining: -1,', /`numTraining` must be a non-negative integer/],
  ];
  for (const [override, expected] of cases) {
    const path = await writePlugin(pluginSource(override));
    await assert.rejects(createDataSource(path, {}), (error: unknown) => {
      assert.ok(error instanceof FileError, String(error));
      assert.equal(error.path, path);
      assert.match(error.message, expected);
      return true;
    });
  }
});

test('a module without a factory, or a missing file, is reported by path', async () => {
  const path = await writePlugin('export const nothing = 1;\n');
  await assert.rejects(
    createDataSource(path, {}),
    /exports neither a default function nor `createDataSource`/,
  );
  await assert.rejects(createDataSource('./no-such-source.js', {}), /neither a built-in data source/);
});

test('labels outside the class table are caught: by the generator wrapper and by the checker', async () => {
  const path = await writePlugin(pluginSource('', 'i === 70 ? 9 : 0'));
  const source = await createDataSource(path, {});
  await assert.rejects(
    (async () => {
      for await (const _batch of source.trainGenerator(2));
    })(),
    /`trainGenerator` yielded a batch that has label 9 at pixel 70 of sample 0/,
  );
  const report = await checkData(path, {});
  assert.equal(report.valid, false);
  assert.equal(report.problems[0]!.file, path);
  assert.match(report.problems[0]!.message, /label 9/);
});
