// Cost of cutting a capture stream into frames: the PPM frame reader (capture/framing.ts) against
// plain re-chunking of raw frames (the reader before it), on the same 640×360 frames in 64 KiB pipe
// chunks, alternating A and B, medians. Run: node --import tsx scripts/measure-framing.ts [rounds]

import { performance } from 'node:perf_hooks';
import { FrameReader } from '../src/capture/framing.js';

const width = 640;
const height = 360;
const frameBytes = width * height * 3;
const framesPerRound = 600;
const rounds = Number(process.argv[2] ?? 9);
const header = Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1');
const pixels = Buffer.alloc(frameBytes, 7);
const ppmStream = Buffer.concat(Array.from({ length: 8 }, () => Buffer.concat([header, pixels])));
const rawStream = Buffer.concat(Array.from({ length: 8 }, () => pixels));
const chunks = (stream: Buffer) => {
  const list: Buffer[] = [];
  for (let at = 0; at < stream.length; at += 65_536) list.push(stream.subarray(at, at + 65_536));
  return list;
};
const ppmChunks = chunks(ppmStream);
const rawChunks = chunks(rawStream);

let delivered = 0;
const reader = new FrameReader('ppm', width, height, {
  frame: () => delivered++,
  refused: () => {
    throw new Error('refused');
  },
  resynchronised: () => {
    throw new Error('lost alignment');
  },
});

// The raw reader as it was: exact frame-size chunks into two reused buffers.
const rawBuffers = [new Uint8Array(frameBytes), new Uint8Array(frameBytes)];
let current = 0;
let filled = 0;
function rawPush(chunk: Buffer): void {
  let offset = 0;
  while (offset < chunk.length) {
    const target = rawBuffers[current]!;
    const take = Math.min(frameBytes - filled, chunk.length - offset);
    target.set(chunk.subarray(offset, offset + take), filled);
    filled += take;
    offset += take;
    if (filled === frameBytes) {
      filled = 0;
      delivered++;
      current = 1 - current;
    }
  }
}

function round(push: (chunk: Buffer) => void, list: Buffer[]): number {
  const started = performance.now();
  for (let pass = 0; pass < framesPerRound / 8; pass++) for (const chunk of list) push(chunk);
  return ((performance.now() - started) * 1000) / framesPerRound;
}

const ppmUs: number[] = [];
const rawUs: number[] = [];
for (let i = 0; i < rounds; i++) {
  rawUs.push(round(rawPush, rawChunks));
  ppmUs.push(round((chunk) => reader.push(chunk), ppmChunks));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const heap = process.memoryUsage().heapUsed;
for (let i = 0; i < 3; i++) round((chunk) => reader.push(chunk), ppmChunks);
console.log(
  `per ${width}×${height} frame: raw ${median(rawUs).toFixed(1)} µs, ppm ${median(ppmUs).toFixed(1)} µs, ` +
    `ratio ${(median(ppmUs) / median(rawUs)).toFixed(3)} (${rounds} rounds of ${framesPerRound} frames, ${delivered} frames); ` +
    `heap change over 1800 more ppm frames ${((process.memoryUsage().heapUsed - heap) / 1024).toFixed(0)} KiB`,
);
