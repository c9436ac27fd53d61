// The daemon configuration: one zod schema that gives the TypeScript type, the runtime validation,
// every default, and the published JSON Schema (docs/config.schema.json).

import { z } from 'zod';

const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);
const point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);

export const RegionSchema = z
  .object({
    name: z.string().min(1).describe('region name used as the key in stats.regions'),
    polygon: z
      .array(point)
      .min(3)
      .describe('polygon vertices as [x, y] in normalised image coordinates (0..1, origin top left)'),
  })
  .strict();

const topicOptions = (defaults: { qos: 0 | 1 | 2; retain: boolean }) =>
  z
    .object({
      enabled: z.boolean().default(true).describe('publish this topic'),
      qos: qos.default(defaults.qos).describe('MQTT QoS for this topic'),
      retain: z.boolean().default(defaults.retain).describe('retain the last message on the broker'),
    })
    .strict();

export const ConfigSchema = z
  .object({
    device_id: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, - and _ only (it becomes part of MQTT topics)')
      .describe('this device, e.g. cam-front; topics are <base_topic>/<device_id>/...'),
    source: z
      .string()
      .min(1)
      .describe(
        'frame source URI: csi://0, v4l2:///dev/video0, rtsp://..., file://video.mp4, dir:///path, test://synthetic-road',
      ),
    model: z.string().min(1).describe('model directory (model.onnx + manifest.json [+ tfjs/])'),
    state_dir: z
      .string()
      .default('./state')
      .describe(
        'where accepted remote configuration, the optimised-model cache and the TensorRT engine cache live (env EDGESEG_STATE_DIR)',
      ),
    fps: z.number().positive().max(120).default(10).describe('frame-rate limit for processing'),
    capture: z
      .object({
        width: z.number().int().positive().default(640).describe('capture width in pixels'),
        height: z.number().int().positive().default(360).describe('capture height in pixels'),
        loop: z.boolean().default(true).describe('restart files and image folders at the end'),
        stall_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(5000)
          .describe('restart the source when no frame arrives for this long'),
        backoff_initial_ms: z
          .number()
          .int()
          .positive()
          .default(500)
          .describe('first restart delay; doubles per failed attempt (with jitter)'),
        backoff_max_ms: z.number().int().positive().default(30000).describe('longest restart delay'),
        backend: z
          .enum(['auto', 'ffmpeg', 'gstreamer'])
          .default('auto')
          .describe('subprocess used for cameras and video'),
      })
      .strict()
      .prefault({}),
    engine: z
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
          .positive()
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
    mqtt: z
      .object({
        url: z
          .string()
          .regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'expected an mqtt://, mqtts://, ws:// or wss:// URL')
          .describe('broker URL, e.g. mqtt://127.0.0.1:1883 or mqtts://broker:8883'),
        base_topic: z.string().min(1).default('edgeseg').describe('topics are <base_topic>/<device_id>/...'),
        client_id: z.string().optional().describe('default: edgeseg-<device_id>'),
        username: z.string().optional().describe('or env EDGESEG_MQTT_USERNAME'),
        password: z.string().optional().describe('or env EDGESEG_MQTT_PASSWORD'),
        protocol_version: z
          .union([z.literal(4), z.literal(5)])
          .default(5)
          .describe('5 = MQTT 5, 4 = MQTT 3.1.1'),
        keepalive_s: z.number().int().positive().default(30).describe('MQTT keep-alive in seconds'),
        reconnect_period_ms: z
          .number()
          .int()
          .positive()
          .default(2000)
          .describe("mqtt.js's own reconnect interval"),
        supervisor_timeout_ms: z
          .number()
          .int()
          .positive()
          .default(30000)
          .describe('recreate the MQTT client when it has been disconnected this long'),
        max_payload_bytes: z.number().int().positive().default(65536).describe('larger requests are refused'),
        tls: z
          .object({
            ca: z.string().optional().describe('CA file (env EDGESEG_MQTT_TLS_CA)'),
            cert: z.string().optional().describe('client certificate file (env EDGESEG_MQTT_TLS_CERT)'),
            key: z.string().optional().describe('client key file (env EDGESEG_MQTT_TLS_KEY)'),
            reject_unauthorized: z.boolean().default(true).describe('verify the broker certificate'),
          })
          .strict()
          .prefault({}),
      })
      .strict(),
    publish: z
      .object({
        mask: topicOptions({ qos: 0, retain: false })
          .extend({
            width: z
              .number()
              .int()
              .positive()
              .optional()
              .describe('mask width (default: the model output width)'),
            height: z
              .number()
              .int()
              .positive()
              .optional()
              .describe('mask height (default: the model output height)'),
          })
          .prefault({}),
        stats: topicOptions({ qos: 0, retain: false }).prefault({}),
        overlay: topicOptions({ qos: 0, retain: false })
          .extend({
            enabled: z.boolean().default(false).describe('publish overlays (each costs a JPEG encode)'),
            interval_ms: z
              .number()
              .int()
              .nonnegative()
              .default(5000)
              .describe('at most one overlay per interval'),
            alpha: z.number().min(0).max(1).default(0.5),
            jpeg_quality: z.number().int().min(1).max(100).default(75),
          })
          .prefault({}),
        health: topicOptions({ qos: 0, retain: false })
          .extend({ interval_ms: z.number().int().positive().default(10000) })
          .prefault({}),
        classes: z
          .array(z.string())
          .optional()
          .describe('publish fractions only for these class names (default: all)'),
      })
      .strict()
      .prefault({}),
    regions: z
      .array(RegionSchema)
      .default([])
      .describe('regions of interest; stats report class fractions inside each'),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Keys whose change needs a restart (the rest are applied live). */
export const RESTART_KEYS = ['device_id', 'source', 'capture', 'engine', 'mqtt', 'state_dir', 'log'] as const;

/** Paths never published or echoed: secrets. */
export const SECRET_PATHS = [
  ['mqtt', 'password'],
  ['mqtt', 'tls', 'key'],
] as const;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input' });
}
