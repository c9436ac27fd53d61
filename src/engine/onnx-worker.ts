// Worker-thread side of ThreadedOnnxEngine: owns the onnxruntime session, because onnxruntime-node's
// run() executes on the calling JS thread; here it blocks this worker, not the main event loop.

import { parentPort, workerData } from 'node:worker_threads';
import { OnnxEngine } from './onnx-engine.js';
import { serializeError, type WorkerData, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('onnx-worker must run in a worker thread');
const { modelDir, options } = workerData as WorkerData;
const engine = new OnnxEngine(modelDir, options);
/**
 * Per slot: the shared input/output views (registered once) and a private input copy, because the
 * native binding rejects tensors over SharedArrayBuffer memory. The copy happens on this thread.
 */
const slots = new Map<
  number,
  { shared: Float32Array; input: Float32Array; output: Float32Array | undefined }
>();

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
    await engine.stop();
    reply({ type: 'stopped' });
    port.close();
    return;
  }
  try {
    let slot = slots.get(message.slot);
    if (!slot) {
      if (!message.input) throw new Error(`slot ${message.slot} used before its buffers were sent`);
      const shared = new Float32Array(message.input);
      slot = {
        shared,
        input: new Float32Array(shared.length),
        output: message.output ? new Float32Array(message.output) : undefined,
      };
      slots.set(message.slot, slot);
    }
    slot.input.set(slot.shared);
    const output = await engine.run(slot.input);
    if (slot.output && output instanceof Float32Array) {
      slot.output.set(output);
      reply({ type: 'done', id: message.id });
    } else {
      const copy = output.slice();
      reply({ type: 'done', id: message.id, output: copy }, [copy.buffer as ArrayBuffer]);
    }
  } catch (error) {
    reply({ type: 'failed', id: message.id, error: serializeError(error) });
  }
});
