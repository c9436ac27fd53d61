// The camera password reaches the camera but no command line: a real ffmpeg reads an RTSP
// camera (test/helpers/rtsp.ts, fed by another real ffmpeg, Basic auth) through the capture
// command, and /proc/PID/cmdline of the capture child holds neither the password nor the user.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createFrameSource } from '../../src/capture/create.js';
import { ffmpegMajorVersion, parseFfmpegMajorVersion } from '../../src/capture/ffmpeg-version.js';
import { captureCommand } from '../../src/capture/pipelines.js';
import type { SubprocessFrameSource } from '../../src/capture/subprocess.js';
import type { FrameSourceOptions, RgbFrame } from '../../src/capture/types.js';
import { parseSourceUri } from '../../src/capture/uri.js';
import { silentLogger } from '../../src/system/log.js';
import { RtspCamera } from '../helpers/rtsp.js';

const CREDENTIALS = { username: 'camuser', password: 'CamSecret123' };

const options: FrameSourceOptions = {
  width: 160,
  height: 96,
  fps: 10,
  loop: false,
  stallTimeoutMs: 20_000,
  backoff: { initialMs: 500, maxMs: 500 },
  backend: 'ffmpeg',
  logger: silentLogger,
};

function firstFrame(source: SubprocessFrameSource, timeoutMs: number): Promise<RgbFrame> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
    source.once('frame', (frame) => {
      clearTimeout(timer);
      resolve(frame);
    });
  });
}

test('ffmpeg streams an RTSP camera that needs a password; the password and user are in no argv of the child', {
  timeout: 60_000,
}, async () => {
  const camera = await RtspCamera.start(CREDENTIALS);
  const sources: SubprocessFrameSource[] = [];
  try {
    await camera.publish();
    // Credentials from the environment file (capture.username/password), and inside the URI.
    for (const [uri, credentials] of [
      [camera.url(), CREDENTIALS],
      [`rtsp://${CREDENTIALS.username}:${CREDENTIALS.password}@127.0.0.1:${camera.port}/live`, {}],
    ] as const) {
      const source = createFrameSource(uri, options, credentials) as SubprocessFrameSource;
      sources.push(source);
      const frame = firstFrame(source, 30_000);
      await source.start();
      const pid = source.pid!;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      const { data } = await frame;
      assert.equal(data.length, 160 * 96 * 3);
      assert.ok(!cmdline.some((arg) => arg.includes(CREDENTIALS.password)), cmdline.join(' '));
      assert.ok(!cmdline.some((arg) => arg.includes(CREDENTIALS.username)), cmdline.join(' '));
      // The camera asked and was answered: the credentials went over RTSP, and RTP over TCP as configured.
      const describes = camera.requests.filter((r) => r.method === 'DESCRIBE' && r.headers.authorization);
      assert.ok(describes.length > 0);
      // rtsp_transport tcp (a per-file option of the list) holds: no UDP attempt first.
      const setups = camera.requests.filter((r) => r.method === 'SETUP' && !r.url.includes('/publish'));
      assert.ok(setups.length > 0);
      for (const setup of setups)
        assert.match(setup.headers.transport ?? '', /^RTP\/AVP\/TCP;unicast;interleaved=/);
      await source.stop();
    }
    // A wrong password gets no frame: the camera really checks.
    const wrong = createFrameSource(camera.url(), options, {
      ...CREDENTIALS,
      password: 'nope',
    }) as SubprocessFrameSource;
    sources.push(wrong);
    const restarted = new Promise<string>((resolve) =>
      wrong.once('restart', (event) => resolve(event.reason)),
    );
    await wrong.start();
    assert.match(await restarted, /ffmpeg exited \(code 1\)/);
    assert.doesNotMatch(wrong.state.reason ?? '', /nope/);
  } finally {
    for (const source of sources) await source.stop();
    await camera.stop();
  }
});

test('before ffmpeg 5.0 (no per-file options in concat lists) the URL stays in argv, with TCP; the version is read from ffmpeg -version', async () => {
  assert.equal(parseFfmpegMajorVersion('ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024'), 5);
  assert.equal(parseFfmpegMajorVersion('ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright'), 4);
  assert.equal(parseFfmpegMajorVersion('ffmpeg version 3.4.11-0ubuntu0.1 Copyright'), 3);
  assert.equal(parseFfmpegMajorVersion('ffmpeg version n6.1.1 Copyright'), 6);
  assert.equal(parseFfmpegMajorVersion('ffmpeg version N-112345-gabcdef Copyright'), undefined);
  assert.equal(await ffmpegMajorVersion(), 5, 'this machine has Debian 12 ffmpeg 5.1');
  const spec = parseSourceUri('rtsp://cam.local/live');
  assert.ok(spec.scheme === 'rtsp');
  const size = { width: 64, height: 48 };
  const old = captureCommand(spec, 'ffmpeg', size, false, CREDENTIALS, { ffconcatOptions: false });
  assert.equal(old.stdin, undefined);
  assert.ok(old.args.includes(`rtsp://camuser:CamSecret123@cam.local/live`));
  assert.ok(old.args.join(' ').includes('-rtsp_transport tcp'));
  const current = captureCommand(spec, 'ffmpeg', size, false, CREDENTIALS, { ffconcatOptions: true });
  assert.ok(!current.args.join(' ').includes('CamSecret123'));
  assert.equal(
    current.stdin,
    "ffconcat version 1.0\nfile 'rtsp://camuser:CamSecret123@cam.local/live'\noption rtsp_transport 'tcp'\n",
  );
});
