// What a capture child (ffmpeg, gst-launch-1.0) can see of the daemon's secrets: its environment
// (/proc/PID/environ) must hold none of them, and ffmpeg's command line not the camera password
// (its URL goes to stdin). gst-launch still takes rtspsrc's user-pw as an argument; docs/capture.md
// and the systemd unit say how that is contained.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { createFrameSource } from '../../src/capture/create.js';
import type { SubprocessFrameSource } from '../../src/capture/subprocess.js';
import { silentLogger } from '../../src/system/log.js';

const SECRETS = {
  EDGESEG_MQTT_PASSWORD: 'MqttSecret-in-env-1',
  EDGESEG_SOURCE_PASSWORD: 'CamSecret-in-env-2',
};

/** A TCP server that accepts and never answers: the RTSP client waits, so the child stays alive. */
async function silentServer(): Promise<{ port: number; close(): void }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return {
    port: address.port,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

async function waitForPid(source: SubprocessFrameSource): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (source.pid === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (source.pid === undefined) throw new Error('no child started');
  return source.pid;
}

for (const backend of ['ffmpeg', 'gstreamer'] as const) {
  test(`a ${backend} capture child gets no secret in its environment`, async () => {
    const saved = { ...process.env };
    Object.assign(process.env, SECRETS);
    const server = await silentServer();
    const source = createFrameSource(
      `rtsp://127.0.0.1:${server.port}/stream`,
      {
        width: 64,
        height: 48,
        fps: 5,
        loop: false,
        stallTimeoutMs: 30_000,
        backoff: { initialMs: 1000, maxMs: 1000 },
        backend,
        logger: silentLogger,
      },
      { username: 'camuser', password: 'CamSecret123' },
    ) as SubprocessFrameSource;
    try {
      await source.start();
      const pid = await waitForPid(source);
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      for (const [name, value] of Object.entries(SECRETS)) {
        assert.ok(
          !environ.some((entry) => entry.includes(value)),
          `${name}'s value in the child's environment`,
        );
        assert.ok(
          !environ.some((entry) => entry.startsWith(`${name}=`)),
          `${name} in the child's environment`,
        );
      }
      if (backend === 'ffmpeg') {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        assert.ok(!cmdline.includes('CamSecret123'), `the camera password in ffmpeg's argv: ${cmdline}`);
      }
      assert.ok(
        environ.some((entry) => entry.startsWith('PATH=')),
        'PATH is kept: the tool must find its helpers',
      );
    } finally {
      await source.stop();
      server.close();
      process.env = saved;
    }
  });
}
