// `edgeseg run --demo` (what `npm start` runs): embedded broker, synthetic camera, bundled model.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest } from '../../src/model/manifest.js';
import { repoRoot } from '../helpers/cli.js';
import { startDaemonProcess } from '../helpers/daemon.js';
import { Recorder } from '../helpers/mosquitto.js';
import { listenNotifySocket } from '../helpers/notify-socket.js';
import { makeTempDir } from '../helpers/tmp.js';

test('the demo runs with no broker and no camera, publishes stats from the bundled model, serves the live page, tells systemd, stops on SIGINT', {
  timeout: 120_000,
}, async () => {
  // As under systemd with WatchdogSec=2: a notify socket and a keep-alive expected every second.
  const notifySocket = join(await makeTempDir(), 'notify.sock');
  const notifications = await listenNotifySocket(notifySocket);
  // Port 0: the demo's broker and web server bind ports of the system's choosing and print them.
  const { child, log, exited } = startDaemonProcess(null, {
    args: ['--demo', '--port', '0', '--http-port', '0'],
    env: { NOTIFY_SOCKET: notifySocket, WATCHDOG_USEC: '2000000' },
  });
  let recorder: Recorder | undefined;
  try {
    const [, url] = await log.waitFor(/edgeseg demo running: broker (mqtt:\/\/127\.0\.0\.1:\d+)/);
    // From a checkout nothing put edgeseg on the PATH: the hint is the checkout's bin/edgeseg.
    assert.match(log.text, /live stats: +bin\/edgeseg watch --broker/);
    const [, page] = await log.waitFor(/live page: +(http:\/\/127\.0\.0\.1:\d+\/)\n/);
    const response = await fetch(page!);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /<img id="stream"/);
    recorder = await Recorder.connect(url!, ['edgeseg/demo/#']);
    const stats = JSON.parse(
      (await recorder.waitFor((m) => m.topic === 'edgeseg/demo/stats')).payload.toString(),
    );
    // The demo runs the light ResNet18 model (src/cli/run.ts says why).
    const manifest = await readManifest(join(repoRoot, 'models/synthetic-road-fcn8s-resnet18'));
    assert.match(stats.modelId, /^synthetic-road-fcn8s-resnet18@/);
    assert.deepEqual(
      Object.keys(stats.classFractions),
      manifest.classes.map((c) => c.name),
    );
    assert.ok(stats.regions.lane_ahead);
    // From the daemon's own PID, as NotifyAccess=main requires; WATCHDOG=1 once frames flow.
    const from = `from ${child.pid}: `;
    // More start time asked for while the model loads (a TensorRT build can take minutes).
    await notifications.waitFor(new RegExp(`^${from}EXTEND_TIMEOUT_USEC=90000000$`, 'm'));
    await notifications.waitFor(new RegExp(`^${from}READY=1$`, 'm'));
    await notifications.waitFor(new RegExp(`^${from}STATUS=segmenting test://synthetic-road`, 'm'));
    await notifications.waitFor(new RegExp(`^${from}WATCHDOG=1$`, 'm'));
    child.kill('SIGINT');
    assert.equal(await exited, 0, log.text);
    await notifications.waitFor(new RegExp(`^${from}STOPPING=1$`, 'm'));
  } finally {
    recorder?.end();
    child.kill('SIGKILL');
  }
});
