// Turns a processed frame into MQTT messages: the class mask as a paletted PNG (pixel value =
// class id) at the configured size, the stats JSON, and a rate-limited overlay JPEG. Masks larger
// than the model output follow publish.filter_mode; publish.ignore_classes are left untinted and
// out of every fraction.

import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { Config } from '../config/schema.js';
import { type ModelManifest, modelId } from '../model/manifest.js';
import type { MqttConnection } from '../mqtt/connection.js';
import type { StatsPayload } from '../mqtt/payloads.js';
import type { Topics } from '../mqtt/topics.js';
import { countedFractions } from '../segment/class-filter.js';
import { FramePictures } from '../segment/frame-pictures.js';
import { encodeClassMaskPng } from '../segment/segmenter.js';
import { errorMessage } from '../system/errors.js';
import type { Logger } from '../system/log.js';
import type { ProcessedFrame } from './frame-loop.js';
import { pictureOptionsFor } from './picture-options.js';
import { type RasterRegion, rasterizeRegions, regionFractions } from './regions.js';

export type FrameStats = StatsPayload;

export class FramePublisher {
  private maskBuffer: Uint8Array | undefined;
  private regions: RasterRegion[] = [];
  private regionKey = '';
  private regionCounts: Float64Array;
  private counted: Float64Array;
  private pictures: FramePictures;
  private lastOverlayAtMs = 0;
  private overlayInFlight = false;
  private snapshotRequested = false;

  constructor(
    private config: Config,
    private manifest: ModelManifest,
    private readonly connection: MqttConnection,
    private readonly topics: Topics,
    private readonly logger: Logger,
  ) {
    this.regionCounts = new Float64Array(manifest.classes.length);
    this.counted = new Float64Array(manifest.classes.length);
    // At start a wrong class name is a config error; later (a live change) it is logged instead.
    this.pictures = new FramePictures(
      manifest.classes,
      manifest,
      pictureOptionsFor(config, manifest, { strict: true, warn: (message) => logger.warn(message) }),
    );
  }

  /** Applies live changes (publish options, regions, a new model). */
  update(config: Config, manifest: ModelManifest): void {
    this.config = config;
    this.manifest = manifest;
    this.regionCounts = new Float64Array(manifest.classes.length);
    this.counted = new Float64Array(manifest.classes.length);
    this.regionKey = '';
    this.pictures = new FramePictures(
      manifest.classes,
      manifest,
      pictureOptionsFor(config, manifest, { strict: false, warn: (message) => this.logger.warn(message) }),
    );
  }

  requestSnapshot(): void {
    this.snapshotRequested = true;
  }

  publish(processed: ProcessedFrame): FrameStats {
    const { publish } = this.config;
    const { result, frame } = processed;
    const classes = this.manifest.classes;
    const maskWidth = publish.mask.width ?? result.width;
    const maskHeight = publish.mask.height ?? result.height;
    let mask = result.classMask;
    if (maskWidth !== result.width || maskHeight !== result.height) {
      if (!this.maskBuffer || this.maskBuffer.length !== maskWidth * maskHeight)
        this.maskBuffer = new Uint8Array(maskWidth * maskHeight);
      mask = this.pictures.mask(result, { width: maskWidth, height: maskHeight }, this.maskBuffer);
    }
    if (publish.mask.enabled) {
      this.connection.publish(this.topics.mask, encodeClassMaskPng(mask, maskWidth, maskHeight, classes), {
        qos: publish.mask.qos,
        retain: publish.mask.retain,
        contentType: 'image/png',
      });
    }
    // Built after the mask went out, so that its latency covers the mask too.
    const stats = this.buildStats(processed, mask, maskWidth, maskHeight);
    if (publish.stats.enabled) {
      this.connection.publish(this.topics.stats, JSON.stringify(stats), {
        qos: publish.stats.qos,
        retain: publish.stats.retain,
        contentType: 'application/json',
      });
    }
    const overlayDue =
      publish.overlay.enabled && frame.captureTimeMs - this.lastOverlayAtMs >= publish.overlay.interval_ms;
    if ((overlayDue || this.snapshotRequested) && !this.overlayInFlight) {
      const snapshot = this.snapshotRequested;
      this.snapshotRequested = false;
      this.lastOverlayAtMs = frame.captureTimeMs;
      this.sendOverlay(processed, snapshot);
    }
    return stats;
  }

  private buildStats(processed: ProcessedFrame, mask: Uint8Array, width: number, height: number): FrameStats {
    const { result, frame, seq } = processed;
    const classes = this.manifest.classes;
    const wanted = this.config.publish.classes;
    const ignored = this.pictures.options.ignoredClassIds;
    const include = (id: number, name: string) => !ignored.includes(id) && (!wanted || wanted.includes(name));
    const classFractions: Record<string, number> = {};
    const counted = countedFractions(result.classFractions, ignored, this.counted);
    for (const cls of classes)
      if (include(cls.id, cls.name)) classFractions[cls.name] = round(counted[cls.id] ?? 0);
    const key = `${width}x${height}:${JSON.stringify(this.config.regions)}`;
    if (key !== this.regionKey) {
      this.regions = rasterizeRegions(this.config.regions, width, height);
      this.regionKey = key;
    }
    const regions: FrameStats['regions'] = {};
    for (const region of this.regions) {
      const fractions = countedFractions(
        regionFractions(mask, region, classes.length, this.regionCounts),
        ignored,
        this.counted,
      );
      const entry: Record<string, number> = {};
      for (const cls of classes) if (include(cls.id, cls.name)) entry[cls.name] = round(fractions[cls.id]!);
      regions[region.name] = entry;
    }
    const t = result.timings;
    const publishMs = performance.now() - processed.resultAt;
    return {
      seq,
      captureTime: new Date(frame.captureTimeMs).toISOString(),
      captureTimeMs: frame.captureTimeMs,
      modelId: modelId(this.manifest),
      frame: { width: frame.width, height: frame.height },
      mask: { width, height },
      classFractions,
      regions,
      latencyMs: {
        queue: round(processed.queueMs, 1),
        preprocess: round(t.preprocessMs, 2),
        inference: round(t.inferenceMs, 2),
        handoff: round(t.handoffMs, 2),
        postprocess: round(t.postprocessMs, 2),
        publish: round(publishMs, 2),
        total: Date.now() - frame.captureTimeMs,
      },
    };
  }

  private sendOverlay(processed: ProcessedFrame, snapshot: boolean): void {
    const { frame, result } = processed;
    const { overlay } = this.config.publish;
    // Blended now (the frame and mask buffers are reused by the next frame) into the pictures'
    // own buffer, which no other overlay touches while this one is in flight.
    const pixels = this.pictures.overlay(result, frame);
    this.overlayInFlight = true;
    sharp(pixels, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .jpeg({ quality: overlay.jpeg_quality })
      .toBuffer()
      .then((jpeg) => {
        const topic = snapshot ? this.topics.snapshot : this.topics.overlay;
        this.connection.publish(topic, jpeg, {
          qos: overlay.qos,
          retain: overlay.retain,
          contentType: 'image/jpeg',
        });
      })
      .catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'overlay rendering failed'))
      .finally(() => {
        this.overlayInFlight = false;
      });
  }
}

function round(value: number, digits = 5): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
