// MQTT payloads, one zod schema each: the TypeScript types the daemon publishes with, and the
// JSON Schemas in docs/mqtt-api.md (scripts/generate-mqtt-docs.ts).

import { z } from 'zod';

const fractions = z.record(z.string(), z.number().min(0).max(1)).describe('class name → fraction of pixels');

export const StatusPayloadSchema = z.object({
  state: z
    .enum(['online', 'offline', 'stopped'])
    .describe('offline is the Last Will; stopped is a clean exit'),
  deviceId: z.string(),
  version: z.string(),
  model: z.string().describe('<model name>@<first 12 hex of the ONNX sha256>'),
  timestamp: z.string(),
});

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
  fps: z.number(),
  inferenceMs: z.object({ p50: z.number(), p99: z.number() }),
  mqtt: z.object({ reconnects: z.number(), clientRecreations: z.number(), droppedWhileOffline: z.number() }),
  sourceRestarts: z.number(),
  rssBytes: z.number(),
  heapUsedBytes: z.number(),
  cpuLoad1: z.number(),
  cpuPercent: z.number(),
  temperaturesC: z.record(z.string(), z.number()),
  uptimeS: z.number(),
});
export type HealthPayload = z.infer<typeof HealthPayloadSchema>;

export const RequestPayloadSchema = z
  .object({
    transaction: z.union([z.string(), z.number()]).optional().describe('echoed in the response'),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('config/set only: the options to change (a partial config)'),
  })
  .passthrough();

export const ResponsePayloadSchema = z.object({
  transaction: z.union([z.string(), z.number()]).optional(),
  status: z.enum(['ok', 'error']),
  data: z.unknown().optional(),
  error: z.string().optional().describe('what was wrong, naming the field'),
});

export const PAYLOAD_SCHEMAS = {
  status: StatusPayloadSchema,
  stats: StatsPayloadSchema,
  health: HealthPayloadSchema,
  request: RequestPayloadSchema,
  response: ResponsePayloadSchema,
} as const;

export function payloadJsonSchema(name: keyof typeof PAYLOAD_SCHEMAS): unknown {
  return z.toJSONSchema(PAYLOAD_SCHEMAS[name], { io: 'output', unrepresentable: 'any' });
}
