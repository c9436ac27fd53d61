// The config sections on what the device sends out: the per-frame MQTT topics, the video streams and
// the regions its stats report on; each field with its remote-change metadata (key-meta.ts).

import { z } from 'zod';
import { parseRtpUri, RTP_URI_FORM, RTP_URI_MAX_LENGTH } from '../output/rtp-uri.js';
import { MAX_IMAGE_SIDE, ms, point, qos } from './fields.js';
import { keyed } from './key-meta.js';

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

const topicOptions = (defaults: { qos: 0 | 1 | 2; retain: boolean }) =>
  z
    .object({
      enabled: z.boolean().default(true).describe('publish this topic'),
      qos: qos.default(defaults.qos).describe('MQTT QoS for this topic'),
      retain: z.boolean().default(defaults.retain).describe('retain the last message on the broker'),
    })
    .strict();

export const outputSections = {
  publish: keyed(
    { remote: 'open', applies: 'live' },
    z
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
  ),
  outputs: keyed(
    { remote: 'locked', lockReason: 'it decides where the device streams its pictures', applies: 'live' },
    z
      .array(VideoOutputSchema)
      .max(4)
      .default([])
      .describe(
        'video streams of the overlay (or colour mask) sent out by the daemon, e.g. [{uri: rtp://192.168.1.20:5004}]',
      ),
  ),
  regions: keyed(
    { remote: 'open', applies: 'live' },
    z
      .array(RegionSchema)
      .max(32)
      .refine((regions) => new Set(regions.map((r) => r.name)).size === regions.length, {
        message: 'region names must be unique',
      })
      .default([])
      .describe('regions of interest; stats report class fractions inside each'),
  ),
};
