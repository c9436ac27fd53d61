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
  latencyMs: z.object({
    queue: z.number(),
    preprocess: z.number(),
    inference: z.number(),
    postprocess: z.number(),
    total: z.number().describe('capture → stats'),
  }),
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
  mqtt: z.object({
    connected: z
      .boolean()
      .describe('connected to the broker now (always true in a message received over MQTT)'),
    reconnects: z.number(),
    clientRecreations: z.number(),
    droppedWhileOffline: z.number(),
  }),
  sourceRunning: z.boolean().describe('a frame arrived from the source within capture.stall_timeout_ms'),
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
    .array(z.object({ kind: z.string().describe('mqtt, http, ...'), name: z.string(), address: z.string() }))
    .describe('where results go: MQTT topics published and the web addresses'),
});
export type InfoPayload = z.infer<typeof InfoPayloadSchema>;

export const SummaryPayloadSchema = z.object({
  timestamp: z.string(),
  intervalS: z.number().describe('the span the means cover'),
  frames: z.number().int().describe('frames processed in the interval'),
  fps: z.number(),
  inferenceMs: z.number().describe('mean inference time over the interval'),
  sourceRunning: z.boolean(),
  classFractions: fractions.describe('class name → mean fraction of pixels over the interval'),
  regions: z.record(z.string(), fractions).describe('region name → mean class fractions inside it'),
});
export type SummaryPayload = z.infer<typeof SummaryPayloadSchema>;

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
  info: InfoPayloadSchema,
  summary: SummaryPayloadSchema,
  request: RequestPayloadSchema,
  response: ResponsePayloadSchema,
} as const;

export function payloadJsonSchema(name: keyof typeof PAYLOAD_SCHEMAS): unknown {
  return z.toJSONSchema(PAYLOAD_SCHEMAS[name], { io: 'output', unrepresentable: 'any' });
}
