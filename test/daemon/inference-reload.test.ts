// The daemon's Inference part when its engine dies by itself (the worker thread ends, as a crash in
// it would): the loop hears it, status/health are told what is wrong, and the configured model is
// reloaded with a backoff so frames flow again without a restart.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import type { RgbFrame } from '../../src/capture/types.js';
import { validateConfig } from '../../src/config/load.js';
import { EventBus } from '../../src/daemon/event-bus.js';
import { Inference } from '../../src/daemon/inference.js';
import { FrameLoop } from '../../src/pipeline/frame-loop.js';
import { silentLogger } from '../../src/system/log.js';
import { DEMO_MODEL_DIR } from '../helpers/daemon.js';
import { makeTempDir } from '../helpers/tmp.js';

function frame(id: number): RgbFrame {
  return { data: new Uint8Array(288 * 96 * 3).fill(90), width: 288, height: 96, captureTimeMs: id };
}

function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`${what} within ${ms} ms`));
      }
    }, 20);
  });
}

/** The daemon's Inference part on the demo model, in a worker thread, with what it reports. */
async function workerInference() {
  const dir = await makeTempDir();
  const config = validateConfig(
    {
      device_id: 'reload-test',
      source: 'test://synthetic-road',
      model: DEMO_MODEL_DIR,
      state_dir: join(dir, 'state'),
      mqtt: { url: 'mqtt://127.0.0.1:1' },
      engine: { inference_thread: 'worker', execution_providers: ['cpu'] },
    },
    'test config',
  );
  const bus = new EventBus((_owner, _event, error) => {
    throw error;
  });
  const reports: Array<string | undefined> = [];
  let changes = 0;
  bus.on('modelChanged', () => changes++);
  const inference = new Inference(
    () => config,
    bus,
    silentLogger,
    (problem) => reports.push(problem),
  );
  return { inference, reports, modelChanges: () => changes };
}

test('an engine whose worker thread dies is reported and reloaded; frames flow again', async () => {
  const { inference, reports, modelChanges } = await workerInference();
  await inference.start();
  try {
    const loop = new FrameLoop(inference.segmenter);
    inference.attach(loop);
    const ids: number[] = [];
    const errors: Error[] = [];
    loop.on('processed', (processed) => ids.push(processed.frame.captureTimeMs));
    loop.on('frameError', (error) => errors.push(error));
    loop.start();
    loop.offer(frame(1));
    await eventually(() => ids.includes(1), 20_000, 'first frame');

    const first = inference.running;
    await (first as unknown as { worker: Worker }).worker.terminate();
    await eventually(() => reports.length === 1, 10_000, 'the loss reported');
    assert.match(reports[0]!, /onnxruntime worker exited/);
    assert.equal(errors.length, 1);

    // Reloaded after the first backoff step (1 s): another engine, the same model.
    await eventually(() => reports.length === 2, 30_000, 'the reload');
    assert.equal(reports[1], undefined, 'the problem clears once the model runs again');
    assert.notEqual(inference.running, first);
    assert.equal(inference.running.manifest.name, first.manifest.name);
    assert.equal(modelChanges(), 1);
    loop.offer(frame(2));
    await eventually(() => ids.includes(2), 20_000, 'a frame after the reload');
    await loop.stop();
  } finally {
    await inference.stop();
  }
});

test('stop() while a lost engine waits for its reload: nothing is reloaded afterwards', async () => {
  const { inference, reports, modelChanges } = await workerInference();
  await inference.start();
  await (inference.running as unknown as { worker: Worker }).worker.terminate();
  await eventually(() => reports.length === 1, 10_000, 'the loss reported');
  await inference.stop();
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal(modelChanges(), 0, 'no reload after stop()');
  assert.equal(reports.length, 1);
});
