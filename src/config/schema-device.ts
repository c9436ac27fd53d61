// The config sections on what the device is and runs: its id, its source and capture, its model and
// engine, its folders and frame rate; each field with its remote-change metadata (key-meta.ts).

import { z } from 'zod';
import { parseSourceUri, SOURCE_EXAMPLES, SOURCE_URI_MAX_LENGTH } from '../capture/uri.js';
import { errorMessage } from '../system/errors.js';
import { MAX_IMAGE_SIDE, ms, path } from './fields.js';
import { keyed, loginFields } from './key-meta.js';

function checkSourceUri(uri: string, context: z.RefinementCtx): void {
  try {
    parseSourceUri(uri);
  } catch (error) {
    // The message names the problem without repeating the URI (it may hold credentials).
    context.addIssue({ code: 'custom', message: errorMessage(error).replace(/^source: /, '') });
  }
}

export const deviceSections = {
  device_id: keyed(
    { remote: 'locked', lockReason: "it is the device's identity and its topics", applies: 'restart' },
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, - and _ (it becomes part of MQTT topics)')
      .describe('this device, e.g. cam-front; topics are <base_topic>/<device_id>/...'),
  ),
  source: keyed(
    {
      remote: 'locked',
      lockReason: 'it decides what the device captures and which program runs to capture it',
      applies: 'restart',
    },
    z
      .string()
      .min(1)
      .max(SOURCE_URI_MAX_LENGTH)
      .superRefine(checkSourceUri)
      .describe(`frame source URI, checked by its scheme's grammar (docs/capture.md): ${SOURCE_EXAMPLES}`),
  ),
  model: keyed(
    { remote: 'open', applies: 'live' },
    path().describe(
      'model directory (model.onnx + manifest.json [+ tfjs/]); over MQTT only a model name inside models_dir',
    ),
  ),
  models_dir: keyed(
    { remote: 'locked', lockReason: 'it decides which models a name may load', applies: 'restart' },
    path()
      .optional()
      .describe('where config/set looks up a model given by name (default: the folder that holds `model`)'),
  ),
  state_dir: keyed(
    {
      remote: 'locked',
      lockReason: 'it decides where the device writes',
      applies: 'restart',
      env: 'EDGESEG_STATE_DIR',
    },
    path()
      .default('./state')
      .describe(
        'where accepted remote configuration, the optimised-model cache and the TensorRT engine cache live (env EDGESEG_STATE_DIR)',
      ),
  ),
  fps: keyed(
    { remote: 'open', applies: 'live' },
    z.number().min(0.1).max(120).default(10).describe('frame-rate limit for processing'),
  ),
  capture: keyed(
    { remote: 'locked', lockReason: 'it decides which program runs and how', applies: 'restart' },
    z
      .object({
        width: z.number().int().min(16).max(MAX_IMAGE_SIDE).default(640).describe('capture width in pixels'),
        height: z
          .number()
          .int()
          .min(16)
          .max(MAX_IMAGE_SIDE)
          .default(360)
          .describe('capture height in pixels'),
        loop: z.boolean().default(true).describe('restart files and image folders at the end'),
        stall_timeout_ms: ms(100, 600_000)
          .default(5000)
          .describe('restart the source when no frame arrives for this long'),
        backoff_initial_ms: ms(10, 600_000)
          .default(500)
          .describe('first restart delay; doubles per failed attempt (with jitter)'),
        backoff_max_ms: ms(10, 3_600_000).default(30000).describe('longest restart delay'),
        backend: z
          .enum(['auto', 'ffmpeg', 'gstreamer'])
          .default('auto')
          .describe('subprocess used for cameras and video'),
        ...loginFields('EDGESEG_SOURCE', {
          username: 'camera user name (RTSP)',
          password: 'camera password (RTSP)',
        }),
      })
      .strict()
      .prefault({}),
  ),
  engine: keyed(
    { remote: 'locked', lockReason: 'it decides what runs the model', applies: 'restart' },
    z
      .object({
        runtime: z
          .enum(['auto', 'onnxruntime', 'tfjs'])
          .default('auto')
          .describe('auto: onnxruntime, the tfjs copy when onnxruntime cannot load the model'),
        execution_providers: z
          .array(z.enum(['tensorrt', 'cuda', 'cpu']))
          .min(1)
          .default(['tensorrt', 'cuda', 'cpu'])
          .describe(
            'onnxruntime execution providers, tried in order; each fallback is logged with its reason',
          ),
        inference_thread: z
          .enum(['auto', 'worker', 'main'])
          .default('auto')
          .describe(
            'worker: onnxruntime runs in a worker thread, so capture, MQTT and timers go on during inference and each inference takes the newest frame; main: in-process (blocks the event loop while the model runs); auto: worker when one inference takes 40 ms or more, else main',
          ),
        intra_op_threads: z
          .number()
          .int()
          .min(1)
          .max(64)
          .optional()
          .describe('onnxruntime intra-op threads (default: one per core)'),
        intra_op_spinning: z
          .boolean()
          .default(false)
          .describe(
            "let onnxruntime's threads spin while they wait for work (onnxruntime's own default): they then burn CPU between operators and frames and starve capture, MQTT and the daemon's own thread on a busy board (see docs/inference.md)",
          ),
        model_cache: z
          .boolean()
          .default(true)
          .describe(
            'keep the optimised model under <state_dir>/model-cache (CPU provider): later starts skip the optimisation and peak far lower in memory',
          ),
        tensorrt_fp16: z.boolean().default(true).describe('let TensorRT run in half precision'),
      })
      .strict()
      .prefault({}),
  ),
};
