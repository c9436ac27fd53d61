// A capture tool that ignores the requested size: frames of another size are refused, never glued
// into misaligned frames, and the device is degraded with the source, the expected and the received
// size in status, /api/health and /metrics, until frames of the right size return. The tool is the
// real ffmpeg behind a wrapper on the daemon's PATH that rewrites the scale filter for 8 s.

import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HealthPayloadSchema, StatusPayloadSchema } from '../../src/mqtt/payloads.js';
import {
  type DaemonProcess,
  isOnlineStatus,
  json,
  startDaemonProcess,
  testConfig,
  useDaemonSuite,
  writeConfig,
} from '../helpers/daemon.js';
import { getJson, metricValue } from '../helpers/http.js';
import { Recorder } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/net.js';

const BASE = 'edgeseg/cam-size';
const WRONG_SECONDS = 8;
let recorder: Recorder;
let daemon: DaemonProcess;
let web: string;

/** ffmpeg with every scale=W:H replaced by 96:32 for its first seconds, then ffmpeg as asked. */
const WRAPPER = `#!/bin/bash
wrong=()
for arg in "$@"; do
  case "$arg" in
    scale=*) wrong+=("scale=96:32") ;;
    pipe:1) wrong+=(-t ${WRONG_SECONDS} pipe:1) ;;
    *) wrong+=("$arg") ;;
  esac
done
ffmpeg=$(PATH="\${PATH#*:}" command -v ffmpeg)
"$ffmpeg" "\${wrong[@]}"
exec "$ffmpeg" "$@"
`;

useDaemonSuite({
  setUp: async (suite) => {
    const bin = join(suite.dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'ffmpeg'), WRAPPER);
    await chmod(join(bin, 'ffmpeg'), 0o755);
    const port = await freePort();
    web = `http://127.0.0.1:${port}`;
    recorder = await Recorder.connect(suite.broker.url, [`${BASE}/status`, `${BASE}/health`]);
    const config = await writeConfig(
      join(suite.dir, 'config.yaml'),
      testConfig(suite.dir, suite.broker.url, {
        device_id: 'cam-size',
        source: 'videotest://',
        capture: { width: 192, height: 64, stall_timeout_ms: 30_000 },
        http: { enabled: true, port },
      }),
    );
    daemon = startDaemonProcess(config, { env: { PATH: `${bin}:${process.env.PATH}` } });
    await recorder.waitFor(isOnlineStatus(BASE), 60_000).catch((error: Error) => {
      throw new Error(`${error.message}; daemon stderr:\n${daemon.stderr()}`);
    });
  },
});

after(() => {
  recorder?.end();
  daemon?.kill();
});

const WRONG =
  /bad frames: ffmpeg for videotest:\/\/ delivers 96×32 frames \(9216 bytes\), expected 192×64 RGB \(36864 bytes\): refused/;

test('frames of the wrong size are refused and reported (status, /api/health, /metrics), then cleared when good frames return', {
  timeout: 120_000,
}, async () => {
  const degraded = await recorder.waitFor(
    (m) => m.topic === `${BASE}/status` && WRONG.test(String(json(m.payload).problems ?? '')),
    WRONG_SECONDS * 1000,
  );
  assert.equal(StatusPayloadSchema.parse(json(degraded.payload)).degraded, true);
  const health = await getJson(`${web}/api/health`);
  const parsed = HealthPayloadSchema.parse(health.body);
  assert.equal(parsed.degraded, true);
  assert.match(parsed.problems.join('\n'), WRONG);
  // Not one frame was made of the small ones: none was segmented.
  assert.equal(parsed.frames.out, 0);
  assert.equal(await metricValue(web, 'edgeseg_degraded'), 1);
  assert.ok((await metricValue(web, 'edgeseg_source_wrong_size_frames_total')) > 0);
  await daemon.waitForLog(/frame source delivers bad frames/, 1000);

  // The wrapper hands over to ffmpeg as asked: frames flow and the problem clears.
  const recovered = await recorder.waitFor(
    (m) => m.topic === `${BASE}/health` && json(m.payload).degraded === false,
    30_000,
  );
  const healthy = HealthPayloadSchema.parse(json(recovered.payload));
  assert.deepEqual(healthy.problems, []);
  assert.ok(healthy.frames.out > 0);
  assert.equal(await metricValue(web, 'edgeseg_degraded'), 0);
  await daemon.waitForLog(/frames of the right size again/, 1000);
});
