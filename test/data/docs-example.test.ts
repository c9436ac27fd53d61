import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { checkData } from '../../src/data/checker.js';
import { createDataSource } from '../../src/data/registry.js';
import { repoRoot } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { photo } from './trees.js';

/** The custom data-source example exactly as docs/data-sources.md shows it. */
async function docsExample(): Promise<string> {
  const markdown = await readFile(join(repoRoot, 'docs', 'data-sources.md'), 'utf8');
  const match = /```js\n(\/\/ my-source\.mjs[\s\S]*?)```/.exec(markdown);
  assert.ok(match, 'docs/data-sources.md has no ```js block starting with // my-source.mjs');
  return match[1]!;
}

test('the custom data source in docs/data-sources.md works as written', async () => {
  const dir = await makeTempDir();
  // The example imports 'sharp'; a module in a temp folder resolves it from this checkout instead.
  const sharpEntry = pathToFileURL(join(repoRoot, 'node_modules', 'sharp', 'lib', 'index.js')).href;
  const code = (await docsExample()).replace("from 'sharp'", `from '${sharpEntry}'`);
  const modulePath = join(dir, 'my-source.mjs');
  await writeFile(modulePath, code);
  const data = join(dir, 'lanes');
  for (let i = 0; i < 12; i++) {
    const name = `frame${String(i).padStart(2, '0')}`;
    await sharp(photo(96, 40, i), { raw: { width: 96, height: 40, channels: 3 } })
      .jpeg()
      .toFile(await ensure(join(data, 'images'), `${name}.jpg`));
    const mask = new Uint8Array(96 * 40);
    for (let p = 0; p < mask.length; p++) mask[p] = p % 96 < 32 ? 0 : p % 96 < 40 ? 2 : 1;
    await sharp(mask, { raw: { width: 96, height: 40, channels: 1 } })
      .png()
      .toFile(await ensure(join(data, 'masks'), `${name}.png`));
  }
  const source = await createDataSource(modulePath, { dataDir: data, imageSize: { height: 64, width: 192 } });
  assert.equal(source.name, 'my-lanes');
  assert.equal(source.numTraining, 10);
  assert.equal(source.numValidation, 2);
  const epoch = async (e: number) => {
    const names: string[] = [];
    for await (const batch of source.trainGenerator(4, { epoch: e })) names.push(...batch.names);
    return names;
  };
  assert.deepEqual(await epoch(1), await epoch(1));
  assert.notDeepEqual(await epoch(1), await epoch(2));
  const report = await checkData(modulePath, {
    sourceOptions: { dataDir: data, imageSize: { height: 64, width: 192 } },
  });
  assert.equal(report.valid, true, JSON.stringify(report.problems));
  // 32 of 96 columns background, 8 lane marking, 56 road: nearest-neighbour keeps the shares.
  assert.deepEqual(
    report.classFrequencies.map((c) => Math.round(c.fraction * 96)),
    [32, 56, 8],
  );
});

async function ensure(folder: string, file: string): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(folder, { recursive: true });
  return join(folder, file);
}
