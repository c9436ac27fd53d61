// SIGKILL in the middle of a config/set storm, 20 rounds: the persisted file always parses and holds
// one of the accepted states; the temp files a kill leaves are gone after the next start.

import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  isOnlineStatus,
  startDaemonProcess,
  testConfig,
  useDaemonSuite,
  writeConfig,
} from '../helpers/daemon.js';
import { Recorder } from '../helpers/mosquitto.js';

const ROUNDS = 20;
const DEVICE = 'cam-storm';
const BASE = `edgeseg/${DEVICE}`;
const suite = useDaemonSuite();

test(`SIGKILL during a config/set storm, ${ROUNDS} rounds: the file always parses, no temp file survives a start`, {
  timeout: 600_000,
}, async () => {
  const stateDir = join(suite.dir, 'state');
  await mkdir(stateDir, { recursive: true });
  const config = await writeConfig(
    join(suite.dir, 'config.yaml'),
    testConfig(suite.dir, suite.broker.url, { device_id: DEVICE, state_dir: stateDir }),
  );
  const recorder = await Recorder.connect(suite.broker.url, [`${BASE}/status`, `${BASE}/response/#`]);
  const accepted = new Set<number>();
  // A change may be persisted and the daemon killed before its answer goes out: the file must hold a value some request asked for.
  const sent = new Set<number>();
  let tempFilesSeen = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const daemon = startDaemonProcess(config);
      try {
        await recorder.waitFor(isOnlineStatus(BASE), 60_000);
        const leftovers = (await readdir(stateDir)).filter((name) => name.endsWith('.tmp'));
        assert.deepEqual(leftovers, [], `round ${round}: temp files survived the start`);
        // The storm: changes as fast as they are answered, and a kill at a moment that varies.
        let stop = false;
        const killed = daemon.exited.then(() => undefined);
        const storm = (async () => {
          for (let i = 0; !stop; i++) {
            const fps = 1 + ((round * 7 + i) % 30);
            sent.add(fps);
            // Never wait for an answer the killed daemon cannot give.
            const response = await Promise.race([
              recorder
                .request(BASE, 'config/set', { config: { fps } }, `r${round}-${i}`)
                .catch(() => undefined),
              killed,
            ]);
            if (response?.status === 'ok') accepted.add(fps);
          }
        })();
        await new Promise((resolve) => setTimeout(resolve, 100 + ((round * 97) % 400)));
        daemon.child.kill('SIGKILL');
        await daemon.exited;
        stop = true;
        await storm;
        const text = await readFile(join(stateDir, 'remote-config.json'), 'utf8').catch(() => '{}');
        const persisted = JSON.parse(text) as { fps?: number };
        if (persisted.fps !== undefined)
          assert.ok(sent.has(persisted.fps), `fps ${persisted.fps} was never asked for`);
        tempFilesSeen += (await readdir(stateDir)).filter((name) => name.endsWith('.tmp')).length;
      } finally {
        daemon.kill();
      }
    }
    // One last start cleans whatever the last kill left.
    const last = startDaemonProcess(config);
    try {
      await recorder.waitFor(isOnlineStatus(BASE), 60_000);
      assert.deepEqual(
        (await readdir(stateDir)).filter((name) => name.endsWith('.tmp')),
        [],
      );
      JSON.parse(await readFile(join(stateDir, 'remote-config.json'), 'utf8'));
      last.child.kill('SIGTERM');
      assert.equal(await last.exited, 0);
    } finally {
      last.kill();
    }
    process.stderr.write(
      `kill storm: ${ROUNDS} rounds, ${accepted.size} distinct changes accepted, ${tempFilesSeen} temp files left by kills (all removed at the next start)\n`,
    );
  } finally {
    recorder.end();
  }
});
