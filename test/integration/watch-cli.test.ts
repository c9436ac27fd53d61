// `edgeseg watch` against a real mosquitto: --count N prints N statistics lines and exits 0, even
// when more arrive in the same burst.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startCli } from '../helpers/cli.js';
import { Mosquitto } from '../helpers/mosquitto.js';

test('watch --count 2 prints two stats lines of a burst of six, then exits 0', async () => {
  const broker = await Mosquitto.start();
  try {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const watch = startCli(['watch', '--broker', url, '--count', '2']);
    let stderr = '';
    await new Promise<void>((resolve) => {
      watch.child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('watching')) resolve();
      });
    });
    const publisher = await mqtt.connectAsync(url);
    for (let seq = 1; seq <= 6; seq++)
      publisher.publish('edgeseg/cam/stats', JSON.stringify({ seq, classFractions: { road: 0.5 } }));
    await publisher.endAsync();
    const result = await watch.result;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      result.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(' ').slice(0, 2).join(' ')),
      ['cam #1', 'cam #2'],
    );
  } finally {
    await broker.stop();
  }
});
