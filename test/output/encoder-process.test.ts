// Encoder subprocesses that cannot start: spawn() throwing (E2BIG here; ENOMEM on a board), and
// Node handing back a child without pipes when file descriptors run out (EMFILE). Either must come
// back as a failed start through `exited` and an RTP stream's restart, never as an exception or an
// unhandled 'error' event that kills the daemon.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { EncoderProcess } from '../../src/output/encoder-process.js';
import { RtpStream } from '../../src/output/rtp-stream.js';
import { silentLogger } from '../../src/system/log.js';
import { repoRoot } from '../helpers/cli.js';
import { freeUdpPort } from '../helpers/net.js';

test('a command line spawn() refuses (E2BIG) is a failed start, not an exception', async () => {
  // One argument over the kernel's 128 KiB limit: spawn() throws instead of emitting 'error'.
  const encoder = new EncoderProcess({ command: 'ffmpeg', args: ['x'.repeat(200_000)] });
  assert.equal(encoder.running, false);
  assert.equal(encoder.pid, undefined);
  const exit = await encoder.exited;
  assert.match(encoder.describeExit(exit), /^ffmpeg could not start: .*E2BIG/);
  await assert.rejects(encoder.write(new Uint8Array(3)), /ffmpeg is not running/);
  assert.deepEqual(await encoder.end(), exit);
  await encoder.stop();
});

test('an RTP stream whose encoder cannot be made keeps restarting instead of throwing', async () => {
  const port = await freeUdpPort();
  const rtp = new RtpStream({
    target: { host: '127.0.0.1', port },
    label: `rtp://127.0.0.1:${port}`,
    backend: 'ffmpeg',
    width: 32,
    height: 32,
    fps: 10,
    // Below what the command builder accepts: it throws, from start() and from each restart.
    bitrateKbps: 10,
    backoff: { initialMs: 20, maxMs: 100 },
    stallTimeoutMs: 5000,
    logger: silentLogger,
  });
  rtp.start();
  const deadline = performance.now() + 10_000;
  while (rtp.stats().restarts < 3 && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const stats = rtp.stats();
  await rtp.stop();
  assert.ok(stats.restarts >= 3, `restarts ${stats.restarts}`);
  assert.equal(stats.state, 'restarting');
  assert.match(stats.lastError ?? '', /the encoder could not be started: .*bitrate/);
  assert.equal(rtp.stats().state, 'stopped');
});

test('out of file descriptors (EMFILE) the process survives, reports it and recovers', {
  timeout: 60_000,
}, async () => {
  const port = await freeUdpPort();
  const child = spawnSync(
    'bash',
    [
      '-c',
      'ulimit -n 256 && exec "$0" --import tsx "$1" "$2"',
      process.execPath,
      join(repoRoot, 'test/output/fd-exhaustion-child.ts'),
      String(port),
    ],
    { cwd: repoRoot, encoding: 'utf8', timeout: 50_000 },
  );
  assert.equal(child.status, 0, `the process died:\n${child.stderr}`);
  const report = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
  assert.ok(report.held > 0, 'the child took the free descriptors');
  assert.equal(report.running, false);
  assert.match(report.exit, /^ffmpeg could not start: .*EMFILE/);
  assert.equal(report.writeRefused, true);
  assert.equal(report.starved.state, 'restarting');
  assert.ok(report.starved.restarts >= 2);
  assert.match(report.starved.lastError, /ffmpeg could not start: .*EMFILE/);
  assert.equal(report.recovered, 'running');
});
