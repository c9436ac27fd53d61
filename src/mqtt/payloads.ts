// MQTT payloads, one zod schema each: the TypeScript types the daemon publishes with, and the
// JSON Schemas in docs/mqtt-api.md (scripts/generate-mqtt-docs.ts).

import { z } from 'zod';
import { INT8_KERNEL_FAMILIES } from '../model/manifest.js';

const fractions = z.record(z.string(), z.number().min(0).max(1)).describe('class name → fraction of pixels');

const RejectedRemoteConfigSchema = z
  .object({
    file: z.string().describe('where the rejected change was set aside under state_dir'),
    reason: z.string(),
    at: z.string(),
  })
  .describe(
    'a persisted remote change that failed at start and was set aside; the device runs its local file',
  );

const Int8KernelsSchema = z
  .enum(INT8_KERNEL_FAMILIES)
  .describe(
    'int8 models: the onnxruntime int8 kernel family running them (docs/inference.md#int8-on-other-cpus)',
  );

export const StatusPayloadSchema = z.object({
  state: z
    .enum(['online', 'offline', 'stopped'])
    .describe('offline is the Last Will (or a step aside for a duplicate); stopped is a clean exit'),
  deviceId: z.string(),
  instanceId: z.string().describe('random per run: tells two processes under one device_id apart'),
  version: z.string(),
  model: z.string().describe('<model name>@<first 12 hex of the ONNX sha256>'),
  int8Kernels: Int8KernelsSchema.optional(),
  timestamp: z.string(),
  degraded: z.boolean().describe('true while anything in problems holds'),
  problems: z
    .array(z.string())
    .describe('what is wrong, one line each (source down, rejected change, duplicate)'),
  source: z
    .object({
      state: z.enum(['starting', 'ok', 'down']),
      reason: z.string().optional().describe('why it is down (credentials removed)'),
      retryAt: z.string().optional().describe('when the next attempt is due'),
    })
    .optional(),
  rejectedRemoteConfig: RejectedRemoteConfigSchema.optional(),
  yieldedTo: z
    .string()
    .optional()
    .describe('this instance stepped aside for that instance id (same device_id) and reconnects later'),
});
export type StatusPayload = z.infer<typeof StatusPayloadSchema>;

export const StatsPayloadSchema = z.object({
  seq: z.number().int().positive(),
  captureTime: z.string().describe('ISO 8601 capture time'),
  captureTimeMs: z.number().int(),
  modelId: z.string(),
  frame: z.object({ width: z.number().int(), height: z.number().int() }),
  mask: z.object({ width: z.number().int(), height: z.number().int() }),
  classFractions: fractions,
  regions: z.record(z.string(), fractions).describe('region name → class fractions inside it'),
  latencyMs: z
    .object({
      queue: z.number().describe('capture → preprocessing start: the wait for the engine'),
      preprocess: z.number(),
      inference: z.number().describe("the engine's own run time (on its worker thread)"),
      handoff: z
        .number()
        .describe('inference end → postprocessing start: thread hand-off and any wait on the main thread'),
      postprocess: z.number(),
      publish: z
        .number()
        .describe('postprocessing end → this message: mask encoding, regions, the mask message'),
      total: z.number().describe('the age of this result: capture → this message'),
    })
    .describe('milliseconds; the parts add up to total within a millisecond or two'),
});
export type StatsPayload = z.infer<typeof StatsPayloadSchema>;

export const HealthPayloadSchema = z.object({
  timestamp: z.string(),
  version: z.string(),
  deviceId: z.string(),
  instanceId: z.string().describe('random per run (as in status)'),
  model: z.string(),
  provider: z.string().optional(),
  paused: z.boolean(),
  frames: z.object({
    captured: z.number(),
    in: z.number(),
    out: z.number(),
    dropped: z.number(),
    errors: z.number(),
  }),
  fps: z.number().describe('frames out per second over the last seconds; 0 when frames stop'),
  source: z.object({
    state: z.enum(['starting', 'ok', 'down']),
    reason: z.string().optional(),
    retryAt: z.string().optional(),
    lastFrameAt: z.string().optional(),
  }),
  degraded: z.boolean(),
  problems: z.array(z.string()),
  duplicate: z
    .object({
      otherInstanceId: z.string(),
      detectedAt: z.string(),
      conflicts: z.number(),
      yielded: z.boolean().describe('this instance went offline for a while so the other could stay'),
    })
    .optional()
    .describe('another instance runs under this device_id'),
  rejectedRemoteConfig: RejectedRemoteConfigSchema.optional(),
  inferenceMs: z.object({ p50: z.number(), p99: z.number() }),
  mqtt: z.object({
    connected: z
      .boolean()
      .describe('connected to the broker now (always true in a message received over MQTT)'),
    reconnects: z.number(),
    clientRecreations: z.number(),
    droppedWhileOffline: z.number(),
  }),
  sourceRestarts: z.number(),
  rssBytes: z.number(),
  heapUsedBytes: z.number(),
  cpuLoad1: z.number(),
  cpuPercent: z.number(),
  temperaturesC: z.record(z.string(), z.number()),
  uptimeS: z.number(),
});
export type HealthPayload = z.infer<typeof HealthPayloadSchema>;

export const InfoPayloadSchema = z.object({
  deviceId: z.string(),
  version: z.string().describe('edgeseg version'),
  timestamp: z.string(),
  model: z.object({
    id: z.string().describe('<model name>@<first 12 hex of the ONNX sha256>'),
    name: z.string(),
    runtime: z.string(),
    provider: z.string().describe('execution provider or tfjs backend in use'),
    int8Kernels: Int8KernelsSchema.optional(),
    input: z.object({ width: z.number().int(), height: z.number().int() }),
    classes: z.array(
      z.object({
        id: z.number().int(),
        name: z.string(),
        color: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
      }),
    ),
  }),
  source: z.string().describe('the frame source URI, user name and password removed'),
  capabilities: z.object({
    requests: z.array(z.string()).describe('names answered on request/<name>'),
    http: z.boolean().describe('the web server runs (page, stream, /api/*)'),
    stream: z.boolean().describe('the MJPEG overlay stream is served'),
    metrics: z.boolean().describe('/metrics is served'),
    homeassistant: z.boolean().describe('Home Assistant discovery is published'),
  }),
  outputs: z
    .array(z.object({ kind: z.string().describe('mqtt, http, rtp'), name: z.string(), address: z.string() }))
    .describe('where results go: MQTT topics published, the web addresses and the RTP video outputs'),
});
export type InfoPayload = z.infer<typeof InfoPayloadSchema>;

export const SummaryPayloadSchema = z.object({
  timestamp: z.string(),
  intervalS: z.number().describe('the span the means cover'),
  frames: z.number().int().describe('frames processed in the interval'),
  fps: z.number(),
  inferenceMs: z.number().describe('mean inference time over the interval'),
  sourceRunning: z.boolean().describe('the source state was ok when the summary was taken'),
  classFractions: fractions.describe('class name → mean fraction of pixels over the interval'),
  regions: z.record(z.string(), fractions).describe('region name → mean class fractions inside it'),
});
export type SummaryPayload = z.infer<typeof SummaryPayloadSchema>;

export const RequestPayloadSchema = z
  .object({
    transaction: z
      .union([z.string().max(128), z.number().int()])
      .optional()
      .describe('echoed in the response: a string of at most 128 characters or an integer'),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('config/set only (required there): the options to change (a partial config)'),
  })
  .strict();

export const ResponsePayloadSchema = z.object({
  transaction: z.union([z.string().max(128), z.number().int()]).optional(),
  status: z.enum(['ok', 'error']),
  data: z.unknown().optional(),
  error: z.string().optional().describe('what was wrong, naming the field'),
});

export const PAYLOAD_SCHEMAS = {
  status: StatusPayloadSchema,
  stats: StatsPayloadSchema,
  health: HealthPayloadSchema,
  info: InfoPayloadSchema,
  summary: SummaryPayloadSchema,
  request: RequestPayloadSchema,
  response: ResponsePayloadSchema,
} as const;

export function payloadJsonSchema(name: keyof typeof PAYLOAD_SCHEMAS): unknown {
  return z.toJSONSchema(PAYLOAD_SCHEMAS[name], { io: 'output', unrepresentable: 'any' });
}
