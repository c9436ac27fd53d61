// The daemon over MQTT with TLS: a real mosquitto with a TLS listener that requires client
// certificates, certificates made by openssl for the test, the bundled demo model.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type DaemonProcess,
  isOnlineStatus,
  json,
  testConfig,
  useDaemonSuite,
  writeConfig,
} from '../helpers/daemon.js';
import type { BrokerOptions, Recorder } from '../helpers/mosquitto.js';

let dir: string;
let recorder: Recorder;

function openssl(...args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  assert.equal(result.status, 0, `openssl ${args.join(' ')}: ${result.stderr}`);
}

/** `openssl req` arguments for a new EC P-256 key (quick to make) written to NAME.key. */
const newKey = (name: string) => [
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:prime256v1',
  '-nodes',
  '-keyout',
  `${name}.key`,
];

function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    ...newKey(name),
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=edgeseg test ${name}`,
  );
}

/** A certificate for NAME signed by the CA called CA (with a subjectAltName for servers). */
async function signed(ca: string, name: string, commonName: string, san?: string): Promise<void> {
  openssl('req', ...newKey(name), '-out', `${name}.csr`, '-subj', `/CN=${commonName}`);
  await writeFile(join(dir, `${name}.ext`), san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
  const caFiles = ['-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial'];
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    ...caFiles,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

/** The daemon as device NAME, over mqtts with the given `mqtt.tls` files. */
async function startDaemon(name: string, tls: Record<string, string>): Promise<DaemonProcess> {
  const configPath = await writeConfig(
    join(dir, `${name}.yaml`),
    testConfig(dir, suite.broker.url, {
      device_id: name,
      state_dir: join(dir, `state-${name}`),
      fps: 2,
      capture: { width: 288, height: 96 },
      mqtt: { url: suite.broker.url, reconnect_period_ms: 500, tls },
    }),
  );
  return suite.startDaemon(configPath);
}

/** A CA, a server and a client certificate signed by it, and a second CA; the broker requires client certificates. */
async function makeCertificates(suiteDir: string): Promise<BrokerOptions> {
  dir = suiteDir;
  makeCa('ca');
  await signed('ca', 'server', '127.0.0.1', 'IP:127.0.0.1');
  await signed('ca', 'client', 'edgeseg-client');
  makeCa('other-ca');
  return {
    tls: {
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'server.crt'),
      key: join(dir, 'server.key'),
      requireClientCertificate: true,
      client: { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') },
    },
  };
}

const suite = useDaemonSuite({
  broker: makeCertificates,
  setUp: async () => {
    recorder = await suite.recorder(['edgeseg/#']);
  },
});

test('over mqtts with a client certificate the daemon comes online and publishes', {
  timeout: 120_000,
}, async () => {
  assert.match(suite.broker.url, /^mqtts:\/\//);
  const daemon = await startDaemon('cam-tls', {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'client.crt'),
    key: join(dir, 'client.key'),
  });
  try {
    await recorder.waitFor(isOnlineStatus('edgeseg/cam-tls'), 60_000, true).catch((error: Error) => {
      throw new Error(`${error.message}; daemon stderr:\n${daemon.log.text}`);
    });
    const stats = await recorder.waitFor((m) => m.topic === 'edgeseg/cam-tls/stats', 30_000);
    const fractions = json(stats.payload).classFractions as Record<string, number>;
    assert.ok(Object.keys(fractions).includes('road'), JSON.stringify(fractions));
  } finally {
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.log.text);
  }
});

test('a broker certificate from another CA is refused, logged, and the daemon keeps running', {
  timeout: 120_000,
}, async () => {
  const connection = /New connection from 127\.0\.0\.1/;
  const connectionsBefore = suite.broker.log.count(connection);
  const daemon = await startDaemon('cam-wrong-ca', {
    ca: join(dir, 'other-ca.crt'),
    cert: join(dir, 'client.crt'),
    key: join(dir, 'client.key'),
  });
  try {
    const errorLine = (await daemon.log.waitFor(/^.*MQTT error.*$/m))[0];
    assert.match(errorLine, /certificate/i);
    // The broker sees a second attempt: the daemon lived on and tried again.
    await suite.broker.log.waitFor(connection, { times: connectionsBefore + 2 });
    assert.equal(daemon.child.exitCode, null, 'still running, retrying the broker');
    assert.equal(
      recorder.messages.some((m) => m.topic.startsWith('edgeseg/cam-wrong-ca/')),
      false,
      'nothing reached the broker',
    );
  } finally {
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.log.text);
  }
});
