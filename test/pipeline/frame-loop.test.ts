// The daemon's frame loop on real onnxruntime sessions (fixture models): the newest frame wins, a
// model swap lands between two frames even while frames keep coming, stop() during a swap (SIGTERM
// during a model switch) drains both, and a bad frame is counted, not fatal.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import type { RgbFrame } from '../../src/capture/types.js';
import { createEngine } from '../../src/engine/create.js';
import type { InferenceEngine } from '../../src/engine/types.js';
import { FrameLoop, type ProcessedFrame } from '../../src/pipeline/frame-loop.js';
import { Segmenter } from '../../src/segment/segmenter.js';
import { writeFixtureModelDir } from '../engine/fixtures.js';
import { makeTempDir } from '../helpers/tmp.js';

const [WIDTH, HEIGHT] = [48, 16];

/** A frame of one colour; captureTimeMs doubles as the frame's id. */
function frame(id: number, rgb: [number, number, number] = [0, 0, 255]): RgbFrame {
  const data = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let i = 0; i < WIDTH * HEIGHT; i++) data.set(rgb, i * 3);
  return { data, width: WIDTH, height: HEIGHT, captureTimeMs: id };
}

const engines: InferenceEngine[] = [];
// Stopped even when a test fails: a running worker thread would keep the test process alive.
after(() => Promise.all(engines.map((started) => started.stop())));

const shared = new Map<string, Promise<InferenceEngine>>();

/** Identity model: a blue frame is class 2 everywhere. With `constant`, class 0 everywhere. Shared by the tests. */
function engine(inferenceThread: 'worker' | 'main', constant = false): Promise<InferenceEngine> {
  const key = `${inferenceThread}:${constant}`;
  let started = shared.get(key);
  if (!started) {
    started = startEngine(inferenceThread, constant);
    shared.set(key, started);
  }
  return started;
}

async function startEngine(inferenceThread: 'worker' | 'main', constant: boolean): Promise<InferenceEngine> {
  const dir = join(await makeTempDir(), 'model');
  await writeFixtureModelDir(dir, {
    height: HEIGHT,
    width: WIDTH,
    ...(constant
      ? {
          weights: [
            [0, 0, 0],
            [0, 0, 0],
            [0, 0, 0],
          ],
          bias: [1, 0, 0],
        }
      : {}),
  });
  const started = await createEngine(dir, {
    runtime: 'onnxruntime',
    executionProviders: ['cpu'],
    inferenceThread,
  });
  engines.push(started);
  return started;
}

async function loopOn(inferenceThread: 'worker' | 'main') {
  const model = await engine(inferenceThread);
  const segmenter = new Segmenter(model);
  await segmenter.ready();
  const loop = new FrameLoop(segmenter);
  const processed: Array<{ id: number; classes: number[]; frame: ProcessedFrame }> = [];
  loop.on('processed', (result) =>
    processed.push({
      id: result.frame.captureTimeMs,
      classes: [...new Set(result.result.classMask)],
      frame: result,
    }),
  );
  loop.start();
  /** Resolves once `count` frames have come out. */
  const outputs = (count: number) =>
    within(
      new Promise<void>((resolve) => {
        const check = () => processed.length >= count && resolve();
        loop.on('processed', check);
        check();
      }),
      20_000,
      `${count} processed frames`,
    );
  return { loop, model, processed, outputs };
}

/** Fails the test instead of hanging it when `promise` never settles. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('main thread: frames offered while one is in flight are dropped but the newest', async () => {
  const { loop, processed, outputs } = await loopOn('main');
  // The in-process engine runs frame 1 only after this synchronous code: 2 and 3 are replaced.
  for (const id of [1, 2, 3, 4]) loop.offer(frame(id));
  await outputs(2);
  await loop.stop();
  assert.deepEqual(
    processed.map((entry) => entry.id),
    [1, 4],
  );
  assert.deepEqual(processed[1]!.classes, [2]);
  const stats = loop.stats();
  assert.equal(stats.framesIn, 4);
  assert.equal(stats.framesDropped, 2);
  assert.equal(stats.framesOut, 2);
  const { timings } = processed[1]!.frame.result;
  assert.ok(timings.inferenceMs > 0 && timings.handoffMs >= 0, JSON.stringify(timings));
});

test('worker thread: a burst of frames ends with the newest; every frame is either out or counted as dropped', async () => {
  const { loop, processed } = await loopOn('worker');
  // The worker takes frames from the mailbox on its own thread, so how many of the burst it sees
  // depends on its speed; the last (nothing replaces it) always comes out.
  for (let id = 1; id <= 8; id++) loop.offer(frame(id));
  await within(
    new Promise<void>((resolve) => {
      const check = () => processed.at(-1)?.id === 8 && resolve();
      loop.on('processed', check);
      check();
    }),
    20_000,
    'frame 8',
  );
  await loop.stop();
  const ids = processed.map((entry) => entry.id);
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
  );
  const stats = loop.stats();
  assert.equal(stats.framesIn, 8);
  assert.equal(stats.framesOut + stats.framesDropped, 8, JSON.stringify(stats));
  assert.ok(processed.every((entry) => entry.classes.join() === '2'));
  const { timings } = processed.at(-1)!.frame.result;
  assert.ok(timings.inferenceMs > 0 && timings.handoffMs >= 0, JSON.stringify(timings));
});

for (const inferenceThread of ['worker', 'main'] as const) {
  test(`${inferenceThread} thread: the next frame copied in as each result comes out; every frame comes out in order with its own pixels`, async () => {
    const { loop, processed, outputs } = await loopOn(inferenceThread);
    const colours: Array<[number, number, number]> = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    const colourOf = (id: number) => colours[id % 3]!;
    const mismatches: string[] = [];
    // In-process, a second frame waits while the first runs; the worker's mailbox would let the
    // second replace the first before the worker thread sees it, so it starts with one.
    const first = inferenceThread === 'main' ? 2 : 1;
    let offered = first;
    loop.on('processed', ({ frame: result, result: segmentation }) => {
      // Offered first: the new frame's copy must not land in the pixels of the result being emitted.
      if (offered < 12) loop.offer(frame(++offered, colourOf(offered)));
      const id = result.captureTimeMs;
      const pixel = Array.from(result.data.subarray(0, 3)).join();
      if (pixel !== colourOf(id).join() || segmentation.classMask[0] !== id % 3)
        mismatches.push(`frame ${id}: pixel ${pixel}, class ${segmentation.classMask[0]}`);
    });
    for (let id = 1; id <= first; id++) loop.offer(frame(id, colourOf(id)));
    await outputs(12);
    await loop.stop();
    assert.deepEqual(
      processed.map((entry) => entry.id),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    assert.deepEqual(mismatches, []);
    assert.equal(loop.stats().framesDropped, 0);
    assert.equal(loop.stats().frameErrors, 0);
  });
}

test('stop() during replaceSegmenter() (SIGTERM during a model switch) settles both', async () => {
  const { loop, model, processed, outputs } = await loopOn('worker');
  const next = new Segmenter(await engine('worker', true));
  await next.ready();
  loop.offer(frame(1));
  await outputs(1);
  // Frame 2 is in flight or still in the mailbox (then dropped) when the swap and the stop come.
  loop.offer(frame(2));
  const swapped = loop.replaceSegmenter(next);
  const stopped = loop.stop();
  const old = await within(swapped, 10_000, 'replaceSegmenter');
  await within(stopped, 10_000, 'stop');
  assert.equal(old.engine, model);
  const ids = processed.map((entry) => entry.id);
  assert.ok(ids.join() === '1' || ids.join() === '1,2', ids.join());
  const stats = loop.stats();
  assert.equal(stats.framesOut + stats.framesDropped, 2, JSON.stringify(stats));
});

test('a swap asked for while the last frame is being published is served when the loop goes idle', async () => {
  const { loop, model } = await loopOn('worker');
  const next = new Segmenter(await engine('worker', true));
  await next.ready();
  const swapped = new Promise<Segmenter>((resolve) =>
    loop.once('processed', () => resolve(within(loop.replaceSegmenter(next), 10_000, 'replaceSegmenter'))),
  );
  loop.offer(frame(1));
  assert.equal((await swapped).engine, model);
  await loop.stop();
});

test('a model swap lands between two frames while frames keep coming', async () => {
  const { loop, model, processed, outputs } = await loopOn('worker');
  const next = new Segmenter(await engine('worker', true));
  await next.ready();
  // A camera faster than the model: a frame every 2 ms, so one is always pending.
  let id = 0;
  let swappedAt = 0;
  const camera = setInterval(() => loop.offer(frame(++id)), 2);
  try {
    await outputs(5);
    const old = await within(loop.replaceSegmenter(next), 10_000, 'replaceSegmenter under load');
    assert.equal(old.engine, model);
    swappedAt = processed.length;
    await outputs(swappedAt + 20);
    await loop.stop();
  } finally {
    clearInterval(camera);
  }
  // Frames finished before the swap are the old model's (class 2), all after it the new one's.
  assert.ok(processed.slice(0, swappedAt).every((entry) => entry.classes.join() === '2'));
  const after = processed.slice(swappedAt);
  assert.ok(
    after.length > 0 && after.every((entry) => entry.classes.join() === '0'),
    JSON.stringify(after.map((e) => e.classes)),
  );
});

test('a frame of the wrong size is counted as an error and the loop goes on', async () => {
  const { loop, processed, outputs } = await loopOn('worker');
  const errors: string[] = [];
  loop.on('frameError', (error) => errors.push(error.message));
  loop.offer({ ...frame(1), data: new Uint8Array(10) });
  loop.offer(frame(2));
  await outputs(1);
  await loop.stop();
  assert.match(errors.join('\n'), /frame data has 10 bytes/);
  assert.deepEqual(
    processed.map((entry) => entry.id),
    [2],
  );
  assert.equal(loop.stats().frameErrors, 1);
});

/** The worker thread of a worker engine, to end it the way a crash in the worker would. */
function workerOf(started: InferenceEngine): Worker {
  const worker = (started as unknown as { worker?: Worker }).worker;
  assert.ok(worker, 'the engine runs in a worker thread');
  return worker;
}

test('a worker thread that dies by itself ends its stream: the loop hears it, stop() settles, a new model takes over', async () => {
  const dying = await startEngine('worker', false);
  const lost = new Promise<Error>((resolve) => dying.onLost?.(resolve));
  const segmenter = new Segmenter(dying);
  await segmenter.ready();
  const loop = new FrameLoop(segmenter);
  const errors: Error[] = [];
  const ids: number[] = [];
  loop.on('frameError', (error) => errors.push(error));
  const seen = (id: number) =>
    within(
      new Promise<void>((resolve) => {
        const check = () => ids.includes(id) && resolve();
        loop.on('processed', check);
        check();
      }),
      20_000,
      `frame ${id}`,
    );
  loop.on('processed', (processed) => ids.push(processed.frame.captureTimeMs));
  loop.start();
  loop.offer(frame(1));
  await seen(1);
  await workerOf(dying).terminate();
  const error = await within(lost, 10_000, 'onLost');
  assert.match(error.message, /onnxruntime worker exited/);
  assert.equal(errors.length, 1, 'the loop reports the end of its stream once');
  loop.offer(frame(2)); // into a stream that has ended: dropped, no hang
  const next = new Segmenter(await engine('worker', true));
  await next.ready();
  const old = await within(loop.replaceSegmenter(next), 10_000, 'replaceSegmenter after the death');
  assert.equal(old, segmenter);
  loop.offer(frame(3));
  await seen(3);
  assert.ok(!ids.includes(2));
  await within(loop.stop(), 10_000, 'stop');
});

test('a swap to an engine that cannot stream fails, and frames go on to the model running', async () => {
  const { loop, processed } = await loopOn('worker');
  const gone = await startEngine('worker', true);
  const next = new Segmenter(gone);
  await next.ready();
  await gone.stop();
  await assert.rejects(loop.replaceSegmenter(next), /openFrameStream\(\) before start\(\)/);
  loop.offer(frame(7));
  await within(
    new Promise<void>((resolve) => {
      const check = () => processed.some((entry) => entry.id === 7) && resolve();
      loop.on('processed', check);
      check();
    }),
    20_000,
    'frame 7 after the failed swap',
  );
  assert.deepEqual(processed.find((entry) => entry.id === 7)?.classes, [2], 'the running model answered');
  await within(loop.stop(), 10_000, 'stop');
});

test('worker thread: a camera far faster than the model holds a few frames, not one per frame offered', async () => {
  const { loop, processed } = await loopOn('worker');
  const [width, height] = [1920, 1080];
  const source: RgbFrame = {
    data: new Uint8Array(width * height * 3).fill(90),
    width,
    height,
    captureTimeMs: 0,
  };
  const before = process.memoryUsage().arrayBuffers;
  let peak = before;
  // 200 full-HD frames offered back to back, 1.2 GB if each were kept until the worker reads it.
  for (let id = 1; id <= 200; id++) {
    loop.offer({ ...source, captureTimeMs: id });
    if (id % 20 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }
  await within(
    new Promise<void>((resolve) => {
      const check = () => processed.at(-1)?.id === 200 && resolve();
      loop.on('processed', check);
      check();
    }),
    20_000,
    'frame 200',
  );
  await loop.stop();
  const grownMb = (peak - before) / 1e6;
  // The pool: four 6.2 MB slots (plus the test's own frame), whatever the number of frames.
  assert.ok(grownMb < 60, `array buffers grew by ${grownMb.toFixed(0)} MB`);
  const stats = loop.stats();
  assert.equal(stats.framesOut + stats.framesDropped, 200, JSON.stringify(stats));
});

test('time since the last result is monotonic: a wall-clock step back or forward does not move it', async () => {
  const { loop, outputs } = await loopOn('main');
  assert.equal(loop.stats().msSinceFrameOut, Number.POSITIVE_INFINITY);
  loop.offer(frame(1));
  await outputs(1);
  const realNow = Date.now;
  try {
    for (const stepMs of [-3_600_000, 3_600_000]) {
      Date.now = () => realNow() + stepMs;
      const since = loop.stats().msSinceFrameOut;
      assert.ok(since >= 0 && since < 5_000, `${stepMs} ms step: ${since} ms since the last result`);
    }
  } finally {
    Date.now = realNow;
  }
  await loop.stop();
});
