// Video outputs (config `outputs`): the overlay or colour mask of the frames the pipeline already
// made, streamed as H.264 over RTP by an encoder subprocess per output. Drawing happens only when
// an output's rate limit lets a frame through; the encoders are restarted with backoff on their
// own and never hold the frame loop.

import type { Config } from '../../config/schema.js';
import type { ModelManifest } from '../../model/manifest.js';
import { RtpStream, type RtpStreamStats } from '../../output/rtp-stream.js';
import { parseRtpUri } from '../../output/rtp-uri.js';
import type { ProcessedFrame } from '../../pipeline/frame-loop.js';
import { pictureOptionsFor } from '../../pipeline/picture-options.js';
import { FramePictures } from '../../segment/frame-pictures.js';
import { errorMessage } from '../../system/errors.js';
import { Extension } from '../extension.js';

type OutputConfig = Config['outputs'][number];

/** An encoder that has not taken a frame for this long is restarted. */
const ENCODER_STALL_MS = 5000;

interface Output {
  config: OutputConfig;
  stream: RtpStream | undefined;
}

export interface VideoOutputStats extends RtpStreamStats {
  uri: string;
}

export class VideoOut extends Extension {
  readonly name = 'video-out';
  private outputs: Output[] = [];
  private pictures: FramePictures | undefined;

  start(): void {
    const { config } = this.context;
    this.configure(config.outputs);
    this.pictures = this.picturesFor(config, this.context.model.manifest);
    this.listen('frameProcessed', (processed) => this.onFrame(processed));
    this.listen('configChanged', (next, previous) => {
      this.pictures = this.picturesFor(next, this.context.model.manifest);
      if (JSON.stringify(next.outputs) !== JSON.stringify(previous.outputs)) this.configure(next.outputs);
    });
    this.listen('modelChanged', ({ manifest }) => {
      this.pictures = this.picturesFor(this.context.config, manifest);
    });
  }

  override async stop(): Promise<void> {
    this.unregister();
    const outputs = this.outputs;
    this.outputs = [];
    await Promise.all(outputs.map((output) => output.stream?.stop()));
  }

  stats(): VideoOutputStats[] {
    return this.outputs.map((output) => ({
      uri: output.config.uri,
      ...(output.stream?.stats() ?? {
        state: 'stopped',
        framesSent: 0,
        framesReplaced: 0,
        restarts: 0,
        lastError: undefined,
      }),
    }));
  }

  /** PIDs of the running encoders (for tests). */
  encoderPids(): Array<number | undefined> {
    return this.outputs.map((output) => output.stream?.pid);
  }

  private picturesFor(config: Config, manifest: ModelManifest): FramePictures {
    // The frames extension reports wrong class names already; do not say it twice.
    const options = pictureOptionsFor(config, manifest, { strict: false, warn: () => {} });
    return new FramePictures(manifest.classes, manifest, options);
  }

  private configure(outputs: readonly OutputConfig[]): void {
    for (const output of this.outputs) void output.stream?.stop();
    // Encoders start with the first frame, whose size they need.
    this.outputs = outputs.map((config) => ({ config, stream: undefined }));
  }

  private onFrame(processed: ProcessedFrame): void {
    const { frame, result } = processed;
    const pictures = this.pictures;
    if (!pictures) return;
    // The rate limits run on the monotonic clock: a wall clock set back (NTP or GPS setting the time
    // of a board without RTC) would otherwise hold every output for as long as the step.
    const now = performance.now();
    for (const output of this.outputs) {
      let stream = output.stream;
      if (!stream || stream.options.width !== frame.width || stream.options.height !== frame.height) {
        void stream?.stop();
        stream = this.createStream(output.config, frame.width, frame.height);
        output.stream = stream;
      }
      if (!stream.due(now)) continue;
      try {
        if (output.config.content === 'mask') pictures.colourMask(result, frame, stream.slot);
        else pictures.overlay(result, frame, stream.slot);
        stream.commit(now);
      } catch (error) {
        this.context.bursts.warn('video-out', 'drawing a video output frame failed', {
          err: errorMessage(error),
        });
      }
    }
  }

  private createStream(config: OutputConfig, width: number, height: number): RtpStream {
    const parsed = parseRtpUri(config.uri);
    // The schema has checked it; a failure here is a programmer error.
    if (!parsed.ok) throw new Error(`outputs: ${parsed.problem}`);
    const { capture } = this.context.config;
    const stream = new RtpStream({
      target: parsed.target,
      label: config.uri,
      backend: config.backend === 'gstreamer' ? 'gstreamer' : 'ffmpeg',
      width,
      height,
      fps: config.fps,
      bitrateKbps: config.bitrate_kbps,
      backoff: { initialMs: capture.backoff_initial_ms, maxMs: capture.backoff_max_ms },
      stallTimeoutMs: ENCODER_STALL_MS,
      logger: this.context.logger,
    });
    stream.start();
    this.context.logger.info(
      { output: config.uri, width, height, fps: config.fps, backend: stream.options.backend },
      'video output started',
    );
    return stream;
  }
}
