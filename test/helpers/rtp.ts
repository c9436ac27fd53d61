// An RTP receiver for the tests: ffmpeg reading an SDP description of an H.264 stream on a
// loopback port and decoding it to raw RGB frames, which the test counts and inspects.

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sdpFor } from '../../src/output/rtp-uri.js';

export class RtpReceiver {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private stderr = '';
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly width: number,
    readonly height: number,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
  }

  /**
   * Starts ffmpeg on `port` and gives it a moment to bind before anything is sent. It gives up
   * when no packet comes for a while, so start it shortly before the stream, or once it runs.
   */
  static async start(
    dir: string,
    port: number,
    size: { width: number; height: number },
  ): Promise<RtpReceiver> {
    const sdp = join(dir, `rtp-${port}.sdp`);
    await writeFile(sdp, sdpFor({ host: '127.0.0.1', port }));
    const child = spawn(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        process.env.RTP_LOGLEVEL ?? 'error',
        '-nostdin',
        '-protocol_whitelist',
        'file,udp,rtp',
        // No reordering on loopback: a restarted encoder's new sequence numbers are taken at once.
        '-reorder_queue_size',
        '0',
        '-i',
        sdp,
        // Every decoded frame, even one whose timestamp goes back (a restarted encoder starts its
        // RTP timestamps afresh), rather than frames resampled to a constant rate.
        '-fps_mode',
        'passthrough',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        'pipe:1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return new RtpReceiver(child, size.width, size.height);
  }

  /** Whole frames decoded so far. */
  get frames(): number {
    return Math.floor(this.bytes / (this.width * this.height * 3));
  }

  /** The last whole decoded frame (RGB). */
  lastFrame(): Buffer {
    const frameBytes = this.width * this.height * 3;
    const all = Buffer.concat(this.chunks);
    const end = Math.floor(all.length / frameBytes) * frameBytes;
    return all.subarray(end - frameBytes, end);
  }

  /** Waits until `count` frames have been decoded in total. */
  async waitForFrames(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames < count) {
      if (Date.now() > deadline)
        throw new Error(
          `received ${this.frames} of ${count} RTP frames in ${timeoutMs} ms; ffmpeg said: ${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }
}
