// Run by encoder-process.test.ts under a low `ulimit -n`: takes every free file descriptor, then
// starts an encoder and an RTP stream, which must report the failure instead of killing this
// process; once descriptors are free again the stream's encoder must start. Prints JSON.
//   node --import tsx fd-exhaustion-child.ts PORT

import { closeSync, openSync } from 'node:fs';
import { EncoderProcess } from '../../src/output/encoder-process.js';
import { RtpStream } from '../../src/output/rtp-stream.js';
import { silentLogger } from '../../src/system/log.js';

const port = Number(process.argv[2]);

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const held: number[] = [];
try {
  for (;;) held.push(openSync('/dev/null', 'r'));
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== 'EMFILE') throw error;
}

const encoder = new EncoderProcess({ command: 'ffmpeg', args: ['-version'] });
const exit = await encoder.exited;
const writeRefused = await encoder.write(new Uint8Array(3)).then(
  () => false,
  () => true,
);
await encoder.stop();

const rtp = new RtpStream({
  target: { host: '127.0.0.1', port },
  label: `rtp://127.0.0.1:${port}`,
  backend: 'ffmpeg',
  width: 32,
  height: 32,
  fps: 10,
  bitrateKbps: 500,
  backoff: { initialMs: 20, maxMs: 200 },
  stallTimeoutMs: 5000,
  logger: silentLogger,
});
rtp.start();
await until(() => rtp.stats().restarts >= 2, 'two restarts');
const starved = rtp.stats();

for (const fd of held) closeSync(fd);
await until(() => rtp.pid !== undefined, 'an encoder once descriptors are free');
const recovered = rtp.stats().state;
await rtp.stop();

console.log(
  JSON.stringify({
    held: held.length,
    running: encoder.running,
    exit: encoder.describeExit(exit),
    writeRefused,
    starved,
    recovered,
  }),
);
