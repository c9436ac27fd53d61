// Worker-thread side of ThreadedOnnxEngine: owns the onnxruntime session, because onnxruntime-node's
// run() executes on the calling JS thread; here it blocks this worker, not the main event loop.
// Runs single inputs (run), timed bare loops (timeRuns) and frame streams (worker-frames).

import { parentPort, workerData } from 'node:worker_threads';
import { OnnxEngine } from './onnx-engine.js';
import { transferable, WorkerFrames } from './worker-frames.js';
import { serializeError, type WorkerData, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('onnx-worker must run in a worker thread');
const { modelDir, options } = workerData as WorkerData;
const engine = new OnnxEngine(modelDir, options);
/**
 * Per slot: the shared input view (registered once) and a private copy, because the native binding
 * rejects tensors over SharedArrayBuffer memory. The copy happens on this thread.
 */
const slots = new Map<number, { shared: Float32Array; input: Float32Array }>();
const streams: WorkerFrames[] = [];

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

try {
  await engine.start();
  reply({ type: 'ready', manifest: engine.manifest, info: engine.info });
} catch (error) {
  reply({ type: 'error', error: serializeError(error) });
}

port.on('message', async (message: WorkerRequest) => {
  if (message.type === 'stop') {
    // Open stream ports would keep this thread alive after the session is gone.
    for (const stream of streams) stream.close();
    await engine.stop();
    reply({ type: 'stopped' });
    port.close();
    return;
  }
  if (message.type === 'openStream') {
    streams.push(new WorkerFrames(message.port, engine));
    return;
  }
  try {
    if (message.type === 'timeRuns') {
      reply({ type: 'timed', id: message.id, times: await engine.timeRuns(message.runs) });
      return;
    }
    let slot = slots.get(message.slot);
    if (!slot) {
      if (!message.input) throw new Error(`slot ${message.slot} used before its buffer was sent`);
      const shared = new Float32Array(message.input);
      slot = { shared, input: new Float32Array(shared.length) };
      slots.set(message.slot, slot);
    }
    slot.input.set(slot.shared);
    const output = transferable(await engine.run(slot.input));
    reply({ type: 'done', id: message.id, output, runMs: engine.lastRunMs }, [output.buffer as ArrayBuffer]);
  } catch (error) {
    reply({ type: 'failed', id: message.id, error: serializeError(error) });
  }
});
