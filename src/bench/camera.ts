// The camera of `edgeseg bench --camera-fps`: a child process that captures a synthetic road scene
// every 1/fps s, writes the capture time (ms since epoch, float64) into the frame's first 8 bytes
// and writes the RGB frame to stdout behind a binary PPM header, as the ffmpeg capture command does. Like them it blocks while the
// pipe is full: a reader that stops reading (an event loop blocked by inference) later gets frames
// captured back then, and the embedded time shows how old they are.
// Arguments: WIDTH HEIGHT FPS.

import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderSyntheticScene } from '../data/synthetic-road.js';

const [width, height, fps] = process.argv.slice(2).map(Number) as [number, number, number];
// Four frames in rotation: a frame handed to stdout.write stays referenced until it is flushed.
const header = Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1');
const frames = [0, 1, 2, 3].map((seed) => {
  const { image } = renderSyntheticScene(0x80000000 + seed, { height, width });
  return Buffer.concat([header, image]);
});
process.stdout.on('error', () => process.exit(0));

let due = performance.now();
for (let i = 0; ; i++) {
  due += 1000 / fps;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  else due = performance.now();
  const frame = frames[i % frames.length]!;
  frame.writeDoubleLE(Date.now(), header.length);
  if (!process.stdout.write(frame)) await once(process.stdout, 'drain');
}
