// The config sections on MQTT: the broker connection and Home Assistant discovery; each field with
// its remote-change metadata (key-meta.ts).

import { z } from 'zod';
import { urlHostProblem } from '../system/hosts.js';
import { ms, path, TOPIC } from './fields.js';
import { keyed, loginFields, secretFromEnv } from './key-meta.js';

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

export const mqttSection = keyed(
  {
    remote: 'locked',
    lockReason: 'it decides whom the device talks to and whom it trusts',
    applies: 'restart',
  },
  z
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
      // An account name is half of a login: not shown either.
      ...loginFields('EDGESEG_MQTT'),
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
          ca: keyed(
            { credential: true, env: 'EDGESEG_MQTT_TLS_CA' },
            path().optional().describe('CA file (env EDGESEG_MQTT_TLS_CA)'),
          ),
          cert: keyed(
            { credential: true, env: 'EDGESEG_MQTT_TLS_CERT' },
            path().optional().describe('client certificate file (env EDGESEG_MQTT_TLS_CERT)'),
          ),
          key: keyed(
            secretFromEnv('EDGESEG_MQTT_TLS_KEY'),
            path().optional().describe('client key file (env EDGESEG_MQTT_TLS_KEY)'),
          ),
          reject_unauthorized: z.boolean().default(true).describe('verify the broker certificate'),
        })
        .strict()
        .prefault({}),
    })
    .strict(),
);

export const homeassistantSection = keyed(
  {
    remote: 'locked',
    lockReason: 'it decides where the device publishes (the discovery prefix)',
    applies: 'live',
  },
  z
    .object({
      // Turning discovery on or off and its update rate are operational; the prefix (where the
      // device publishes) stays locked.
      enabled: keyed(
        { remote: 'open' },
        z
          .boolean()
          .default(false)
          .describe(
            'publish Home Assistant MQTT discovery (retained) and the summary topic its sensors read',
          ),
      ),
      discovery_prefix: z
        .string()
        .min(1)
        .max(64)
        .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'letters, digits, -, _ and / between levels only')
        .default('homeassistant')
        .describe("Home Assistant's discovery prefix (its MQTT integration setting)"),
      state_interval_ms: keyed(
        { remote: 'open' },
        z
          .number()
          .int()
          .min(1000)
          .max(3_600_000)
          .default(10_000)
          .describe('how often the summary topic (mean class fractions, fps, inference time) is published'),
      ),
    })
    .strict()
    .prefault({}),
);
