// The worker-thread engine: same masks as in-process, provider fallback reported, user errors
// cross the thread boundary as the same FileError.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { createEngine } from '../../src/engine/create.js';
import { Segmenter } from '../../src/segment/segmenter.js';
import { FileError } from '../../src/system/errors.js';
import { makeTempDir } from '../helpers/tmp.js';
import { writeFixtureModelDir } from './fixtures.js';

const frame = (() => {
  const data = new Uint8Array(60 * 20 * 3);
  for (let i = 0; i < 60 * 20; i++) data[i * 3 + Math.min(2, Math.floor(((i % 60) * 3) / 60))] = 255;
  return { data, width: 60, height: 20 };
})();

test('a worker-thread engine segments exactly like the in-process one and reports fallbacks', async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 16, width: 48, output: 'probabilities', layout: 'NHWC' });
  const options = { runtime: 'onnxruntime' as const, executionProviders: ['cuda' as const, 'cpu' as const] };
  const threaded = await createEngine(dir, { ...options, inferenceThread: 'worker' });
  const inProcess = await createEngine(dir, { ...options, inferenceThread: 'main' });
  assert.equal(threaded.info.provider, 'cpu');
  assert.match(threaded.info.fallbackReasons[0] ?? '', /^cuda: /);
  const a = await new Segmenter(threaded).segment(frame);
  const maskA = Array.from(a.classMask);
  const b = await new Segmenter(inProcess).segment(frame);
  assert.deepEqual(maskA, Array.from(b.classMask));
  assert.deepEqual(Array.from(a.rawOutput as Float32Array), Array.from(b.rawOutput as Float32Array));
  await threaded.stop();
  await threaded.stop();
  await inProcess.stop();
});

test('a manifest error inside the worker arrives as a FileError naming manifest.json', async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 16, width: 48 });
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  manifest.input.height = 32;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await assert.rejects(
    createEngine(dir, { runtime: 'onnxruntime', executionProviders: ['cpu'], inferenceThread: 'worker' }),
    (error: unknown) => {
      assert.ok(error instanceof FileError);
      assert.equal(error.path, join(dir, 'manifest.json'));
      assert.match(error.message, /input\.height: manifest says height 32, model has 16/);
      return true;
    },
  );
});

test("inferenceThread 'auto' keeps a slow model in the worker and moves a fast one in-process", async () => {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, { height: 16, width: 48 });
  const options = {
    runtime: 'onnxruntime' as const,
    executionProviders: ['cpu' as const],
    inferenceThread: 'auto' as const,
  };
  // The threshold decides; a real run of this model takes well under a second and over 0 ms.
  const slow = await createEngine(dir, { ...options, autoWorkerMinMs: 0 });
  // Moved in-process, the engine goes straight to the provider that ran in the worker: cuda's
  // failure is reported once, not tried and warned about a second time.
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(line) });
  const fast = await createEngine(dir, {
    ...options,
    executionProviders: ['cuda', 'cpu'],
    autoWorkerMinMs: 1000,
    logger,
  });
  assert.match(fast.info.fallbackReasons.join('\n'), /^cuda: /);
  assert.equal(lines.filter((line) => /"reason":"cuda: /.test(line)).length, 1, lines.join(''));
  assert.equal(slow.info.thread, 'worker');
  assert.ok(slow.openFrameStream, 'a worker engine streams frames');
  assert.equal(fast.info.thread, 'main');
  assert.equal(fast.openFrameStream, undefined);
  const a = await new Segmenter(slow).segment(frame);
  const maskA = Array.from(a.classMask);
  assert.deepEqual(Array.from((await new Segmenter(fast).segment(frame)).classMask), maskA);
  await slow.stop();
  await fast.stop();
});
