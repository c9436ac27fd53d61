// The config section of the daemon's web server (live page, MJPEG stream, /api/*, /metrics), with
// its remote-change metadata (key-meta.ts).

import { z } from 'zod';
import { hostProblem } from '../system/hosts.js';
import { keyed, secretFromEnv } from './key-meta.js';

export const httpSection = keyed(
  {
    remote: 'locked',
    lockReason: 'it opens a network listener and decides who can reach it',
    applies: 'restart',
  },
  z
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
      token: keyed(
        secretFromEnv('EDGESEG_HTTP_TOKEN'),
        z
          .string()
          .min(16)
          .max(256)
          .optional()
          .describe(
            'needed (Bearer, or basic auth password) when host is not a loopback address; or env EDGESEG_HTTP_TOKEN',
          ),
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
);
