// The daemon configuration: one zod schema that gives the TypeScript type, the runtime validation,
// every default, and the published JSON Schema (docs/config.schema.json).

import { z } from 'zod';
import { parseSourceUri, SOURCE_EXAMPLES, SOURCE_URI_MAX_LENGTH } from '../capture/uri.js';
import { parseRtpUri, RTP_URI_FORM, RTP_URI_MAX_LENGTH } from '../output/rtp-uri.js';
import { errorMessage } from '../system/errors.js';
import { hostProblem, urlHostProblem } from '../system/hosts.js';

// Every value has a bound: a config file or a remote change can ask for a lot, never for anything.
const qos = z.union([z.literal(0), z.literal(1), z.literal(2)]);
const point = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);
/** Milliseconds between `min` and `max`. */
const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
/** A file system path of at most 4096 characters, no control characters. */
const path = () => z.string().min(1).max(4096).regex(NO_CONTROL, 'control characters are not allowed');
/** A secret or user name of at most 1024 characters. */
const credential = () => z.string().max(1024).regex(NO_CONTROL, 'control characters are not allowed');
/** MQTT topic segments: letters, digits, _ and -, joined by single slashes (no wildcards). */
const TOPIC = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

export const MAX_IMAGE_SIDE = 4096;

export const RegionSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 letters, digits, _ . -')
      .describe('region name used as the key in stats.regions'),
    polygon: z
      .array(point)
      .min(3)
      .max(64)
      .describe('polygon vertices as [x, y] in normalised image coordinates (0..1, origin top left)'),
  })
  .strict();

export const VideoOutputSchema = z
  .object({
    uri: z
      .string()
      .max(RTP_URI_MAX_LENGTH, `longer than ${RTP_URI_MAX_LENGTH} characters; expected ${RTP_URI_FORM}`)
      .superRefine((uri, context) => {
        const parsed = parseRtpUri(uri);
        if (!parsed.ok) context.addIssue({ code: 'custom', message: parsed.problem });
      })
      .describe(`where the H.264 RTP stream goes: ${RTP_URI_FORM}`),
    content: z
      .enum(['overlay', 'mask'])
      .default('overlay')
      .describe('overlay: the frame blended with the class colours; mask: the class colours alone'),
    fps: z
      .number()
      .int()
      .min(1)
      .max(30)
      .default(5)
      .describe('at most this many frames per second are encoded (from frames the pipeline made anyway)'),
    bitrate_kbps: z.number().int().min(64).max(20000).default(1000).describe('H.264 bitrate in kbit/s'),
    backend: z
      .enum(['auto', 'ffmpeg', 'gstreamer'])
      .default('auto')
      .describe('encoder subprocess (auto: ffmpeg)'),
  })
  .strict();
function checkSourceUri(uri: string, context: z.RefinementCtx): void {
  try {
    parseSourceUri(uri);
  } catch (error) {
    // The message names the problem without repeating the URI (it may hold credentials).
    context.addIssue({ code: 'custom', message: errorMessage(error).replace(/^source: /, '') });
  }
}

function checkBrokerUrl(url: string, context: z.RefinementCtx): void {
  const match =
    /^(mqtts?|wss?|tcp|ssl):\/\/(?:([^@/?#]*)@)?(\[[^\]]+\]|[^:/?#@]+)(?::(\d{1,5}))?(\/[A-Za-z0-9._~/-]*)?$/.exec(
      url,
    );
  if (!match) {
    context.addIssue({
      code: 'custom',
      message: 'expected mqtt://host:port, mqtts://, ws:// or wss:// with a host, an optional port and path',
    });
    return;
  }
  // Credentials in the URL follow the camera URIs' grammar, so that redaction (a pattern that stops
  // at quotes and spaces) always finds all of them; better still, use mqtt.username/password.
  if (match[2] !== undefined && !/^[A-Za-z0-9._~+%-]+(?::[A-Za-z0-9._~+%-]*)?$/.test(match[2]))
    context.addIssue({
      code: 'custom',
      message:
        'broker credentials in the URL may hold letters, digits, . _ ~ + - and %XX escapes only (or set mqtt.username / mqtt.password, EDGESEG_MQTT_USERNAME / EDGESEG_MQTT_PASSWORD)',
    });
  const hostProblem = urlHostProblem(match[3]!);
  if (hostProblem) context.addIssue({ code: 'custom', message: `the broker host: ${hostProblem}` });
  const port = match[4] === undefined ? 1 : Number(match[4]);
  if (port < 1 || port > 65535) context.addIssue({ code: 'custom', message: 'the port must be 1..65535' });
}

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
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'use 1-64 letters, digits, - and _ (it becomes part of MQTT topics)')
      .describe('this device, e.g. cam-front; topics are <base_topic>/<device_id>/...'),
    source: z
      .string()
      .min(1)
      .max(SOURCE_URI_MAX_LENGTH)
      .superRefine(checkSourceUri)
      .describe(`frame source URI, checked by its scheme's grammar (docs/capture.md): ${SOURCE_EXAMPLES}`),
    model: path().describe(
      'model directory (model.onnx + manifest.json [+ tfjs/]); over MQTT only a model name inside models_dir',
    ),
    models_dir: path()
      .optional()
      .describe('where config/set looks up a model given by name (default: the folder that holds `model`)'),
    state_dir: path()
      .default('./state')
      .describe(
        'where accepted remote configuration, the optimised-model cache and the TensorRT engine cache live (env EDGESEG_STATE_DIR)',
      ),
    fps: z.number().min(0.1).max(120).default(10).describe('frame-rate limit for processing'),
    capture: z
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
        username: credential().optional().describe('camera user name (RTSP), or env EDGESEG_SOURCE_USERNAME'),
        password: credential().optional().describe('camera password (RTSP), or env EDGESEG_SOURCE_PASSWORD'),
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
    mqtt: z
      .object({
        url: z
          .string()
          .max(2048)
          .superRefine(checkBrokerUrl)
          .describe('broker URL, e.g. mqtt://127.0.0.1:1883 or mqtts://broker:8883'),
        base_topic: z
          .string()
          .max(128)
          .regex(TOPIC, 'use letters, digits, _ and - in segments joined by / (no wildcards)')
          .default('edgeseg')
          .describe('topics are <base_topic>/<device_id>/...'),
        client_id: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,128}$/, 'use 1-128 letters, digits, _ and -')
          .optional()
          .describe('default: edgeseg-<device_id>'),
        username: credential().optional().describe('or env EDGESEG_MQTT_USERNAME'),
        password: credential().optional().describe('or env EDGESEG_MQTT_PASSWORD'),
        protocol_version: z
          .union([z.literal(4), z.literal(5)])
          .default(5)
          .describe('5 = MQTT 5, 4 = MQTT 3.1.1'),
        keepalive_s: z.number().int().min(1).max(65535).default(30).describe('MQTT keep-alive in seconds'),
        reconnect_period_ms: ms(100, 600_000).default(2000).describe("mqtt.js's own reconnect interval"),
        supervisor_timeout_ms: ms(1000, 3_600_000)
          .default(30000)
          .describe('recreate the MQTT client when it has been disconnected this long'),
        max_payload_bytes: z
          .number()
          .int()
          .min(1024)
          .max(1_048_576)
          .default(65536)
          .describe('larger requests are refused'),
        tls: z
          .object({
            ca: path().optional().describe('CA file (env EDGESEG_MQTT_TLS_CA)'),
            cert: path().optional().describe('client certificate file (env EDGESEG_MQTT_TLS_CERT)'),
            key: path().optional().describe('client key file (env EDGESEG_MQTT_TLS_KEY)'),
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
              .min(1)
              .max(MAX_IMAGE_SIDE)
              .optional()
              .describe('mask width (default: the model output width)'),
            height: z
              .number()
              .int()
              .min(1)
              .max(MAX_IMAGE_SIDE)
              .optional()
              .describe('mask height (default: the model output height)'),
          })
          .prefault({}),
        stats: topicOptions({ qos: 0, retain: false }).prefault({}),
        overlay: topicOptions({ qos: 0, retain: false })
          .extend({
            enabled: z.boolean().default(false).describe('publish overlays (each costs a JPEG encode)'),
            interval_ms: ms(0, 86_400_000).default(5000).describe('at most one overlay per interval'),
            alpha: z.number().min(0).max(1).default(0.5),
            jpeg_quality: z.number().int().min(1).max(100).default(75),
          })
          .prefault({}),
        health: topicOptions({ qos: 0, retain: false })
          .extend({
            interval_ms: ms(100, 86_400_000).default(10000).describe('how often health is published'),
          })
          .prefault({}),
        classes: z
          .array(z.string().min(1).max(128))
          .max(256)
          .optional()
          .describe('publish fractions only for these class names (default: all)'),
        filter_mode: z
          .enum(['point', 'linear'])
          .default('point')
          .describe(
            'how masks larger than the model output (publish.mask size, overlays, outputs) are made: point = nearest neighbour; linear = class scores upsampled bilinearly before the argmax (smooth edges, costs a few ms per frame)',
          ),
        ignore_classes: z
          .array(z.string().min(1).max(64))
          .max(64)
          .default([])
          .describe(
            "class names left untinted in overlays and out of every fraction (the rest sum to 1); must be the model's class names",
          ),
      })
      .strict()
      .prefault({}),
    outputs: z
      .array(VideoOutputSchema)
      .max(4)
      .default([])
      .describe(
        'video streams of the overlay (or colour mask) sent out by the daemon, e.g. [{uri: rtp://192.168.1.20:5004}]',
      ),
    regions: z
      .array(RegionSchema)
      .max(32)
      .refine((regions) => new Set(regions.map((r) => r.name)).size === regions.length, {
        message: 'region names must be unique',
      })
      .default([])
      .describe('regions of interest; stats report class fractions inside each'),
    http: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('serve the live page, the MJPEG stream, /api/* and /metrics (read-only: GET and HEAD)'),
        host: z
          .string()
          .min(1)
          .max(253)
          .regex(/^[A-Za-z0-9.:_-]+$/, 'expected an IP address or a host name, e.g. 127.0.0.1 or 0.0.0.0')
          .refine((host) => hostProblem(host) === undefined, {
            error: (issue) => `${hostProblem(String(issue.input))}, e.g. 127.0.0.1 or 0.0.0.0`,
          })
          .default('127.0.0.1')
          .describe(
            'address to listen on; 127.0.0.1 keeps it on this machine, 0.0.0.0 opens it to the network',
          ),
        port: z.number().int().min(1).max(65535).default(8080).describe('TCP port of the web server'),
        token: z
          .string()
          .min(16)
          .max(256)
          .optional()
          .describe(
            'needed (Bearer, or basic auth password) when host is not a loopback address; or env EDGESEG_HTTP_TOKEN',
          ),
        max_connections: z
          .number()
          .int()
          .min(4)
          .max(1024)
          .default(32)
          .describe('open connections at most; further ones are refused until others close'),
        metrics: z.boolean().default(true).describe('serve Prometheus metrics on /metrics'),
        stream: z
          .object({
            max_fps: z
              .number()
              .min(0.1)
              .max(30)
              .default(5)
              .describe('overlay frames per second on /stream.mjpeg at most (each costs a JPEG encode)'),
            max_viewers: z
              .number()
              .int()
              .min(1)
              .max(32)
              .default(4)
              .describe('concurrent /stream.mjpeg viewers at most; more get 503'),
            jpeg_quality: z.number().int().min(1).max(100).default(70).describe('JPEG quality of the stream'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    homeassistant: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'publish Home Assistant MQTT discovery (retained) and the summary topic its sensors read',
          ),
        discovery_prefix: z
          .string()
          .min(1)
          .max(64)
          .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'letters, digits, -, _ and / between levels only')
          .default('homeassistant')
          .describe("Home Assistant's discovery prefix (its MQTT integration setting)"),
        state_interval_ms: z
          .number()
          .int()
          .min(1000)
          .max(3_600_000)
          .default(10_000)
          .describe('how often the summary topic (mean class fractions, fps, inference time) is published'),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .prefault({}),
    remote_config: z
      .object({
        enabled: z.boolean().default(true).describe('answer config/set at all (config/get always works)'),
        unlock: z
          .array(z.string().max(64))
          .max(32)
          .default([])
          .describe(
            'locked keys config/set may change too, by name (e.g. [source]); see docs/mqtt-api.md, "Remote changes"',
          ),
        mqtt_probation_s: z
          .number()
          .int()
          .min(5)
          .max(86_400)
          .default(300)
          .describe(
            'with mqtt unlocked: MQTT settings from a remote change that do not connect within this long are set aside and the daemon restarts on the local ones',
          ),
      })
      .strict()
      .prefault({})
      .describe('what config/set may change; only the local config file can set this'),
  })
  .strict()
  .superRefine((config, context) => {
    for (const [index, key] of config.remote_config.unlock.entries()) {
      if (!(LOCKABLE_KEYS as readonly string[]).includes(key))
        context.addIssue({
          code: 'custom',
          path: ['remote_config', 'unlock', index],
          message: `"${key}" cannot be unlocked; lockable keys: ${LOCKABLE_KEYS.join(', ')}`,
        });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** Keys whose change needs a restart (the rest are applied live). */
export const RESTART_KEYS = [
  'device_id',
  'source',
  'capture',
  'engine',
  'mqtt',
  'state_dir',
  'log',
  'models_dir',
  'http',
] as const;

/** Keys config/set may always change: what the device does with frames, not what it trusts. */
export const OPERATIONAL_KEYS = ['fps', 'publish', 'regions', 'model'] as const;
/** Operational parts of otherwise locked keys. */
export const OPERATIONAL_PATHS = [
  ['log', 'level'],
  // Turning Home Assistant discovery on or off and its update rate; the prefix (where the device
  // publishes) stays locked.
  ['homeassistant', 'enabled'],
  ['homeassistant', 'state_interval_ms'],
] as const;
/** Keys only the local file may set, even when everything else is unlocked. */
export const LOCAL_ONLY_KEYS = ['remote_config'] as const;

/** Keys config/set may not change unless remote_config.unlock names them: every other top-level key. */
export const LOCKABLE_KEYS: readonly string[] = Object.keys(ConfigSchema.shape).filter(
  (key) =>
    !(OPERATIONAL_KEYS as readonly string[]).includes(key) &&
    !(LOCAL_ONLY_KEYS as readonly string[]).includes(key),
);

/** Paths never published or echoed: secrets. */
export const SECRET_PATHS = [
  // An account name is half of a login: not published either.
  ['mqtt', 'username'],
  ['capture', 'username'],
  ['http', 'token'],
  ['mqtt', 'password'],
  ['mqtt', 'tls', 'key'],
  ['capture', 'password'],
] as const;

/** Paths config/set never takes, unlocked or not: credentials and key files come from the environment file. */
export const LOCAL_SECRET_PATHS = [
  ['mqtt', 'username'],
  ['mqtt', 'password'],
  ['mqtt', 'tls', 'ca'],
  ['mqtt', 'tls', 'cert'],
  ['mqtt', 'tls', 'key'],
  ['capture', 'username'],
  ['capture', 'password'],
  ['http', 'token'],
] as const;

export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input' });
}
