// The daemon over MQTT with TLS: a real mosquitto with a TLS listener that requires client
// certificates, certificates made by openssl for the test, the bundled demo model.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { repoRoot } from '../helpers/cli.js';
import { isOnlineStatus, json } from '../helpers/daemon.js';
import { Mosquitto, Recorder } from '../helpers/mosquitto.js';
import { OutputWatcher } from '../helpers/output.js';

let dir: string;
let broker: Mosquitto;
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

function startDaemon(
  name: string,
  tls: Record<string, string>,
): { child: ChildProcess; exited: Promise<number | null>; log: OutputWatcher; config: Promise<void> } {
  const configPath = join(dir, `${name}.yaml`);
  const config = writeFile(
    configPath,
    stringify({
      device_id: name,
      source: 'test://synthetic-road',
      model: join(repoRoot, 'models/synthetic-road-fcn8s'),
      state_dir: join(dir, `state-${name}`),
      fps: 2,
      capture: { width: 288, height: 96 },
      mqtt: { url: broker.url, reconnect_period_ms: 500, tls },
      publish: { health: { interval_ms: 1000 } },
      log: { format: 'json' },
    }),
  );
  let child: ChildProcess | undefined;
  let log: OutputWatcher | undefined;
  let resolveExit: (code: number | null) => void = () => {};
  const exited = new Promise<number | null>((resolve) => {
    resolveExit = resolve;
  });
  const started = config.then(() => {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/index.ts'), 'run', '--config', configPath],
      { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    log = OutputWatcher.stderr(child);
    child.on('exit', (code) => resolveExit(code));
  });
  return {
    get child() {
      if (!child) throw new Error('daemon not started yet');
      return child;
    },
    get log() {
      if (!log) throw new Error('daemon not started yet');
      return log;
    },
    exited,
    config: started,
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeseg-tls-'));
  makeCa('ca');
  await signed('ca', 'server', '127.0.0.1', 'IP:127.0.0.1');
  await signed('ca', 'client', 'edgeseg-client');
  makeCa('other-ca');
  broker = await Mosquitto.start({
    tls: {
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'server.crt'),
      key: join(dir, 'server.key'),
      requireClientCertificate: true,
      client: { cert: join(dir, 'client.crt'), key: join(dir, 'client.key') },
    },
  });
  recorder = await Recorder.connect(broker.url, ['edgeseg/#'], broker.clientOptions());
});

after(async () => {
  recorder?.end();
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('over mqtts with a client certificate the daemon comes online and publishes', {
  timeout: 120_000,
}, async () => {
  assert.match(broker.url, /^mqtts:\/\//);
  const daemon = startDaemon('cam-tls', {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'client.crt'),
    key: join(dir, 'client.key'),
  });
  await daemon.config;
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
  const daemon = startDaemon('cam-wrong-ca', {
    ca: join(dir, 'other-ca.crt'),
    cert: join(dir, 'client.crt'),
    key: join(dir, 'client.key'),
  });
  const connection = /New connection from 127\.0\.0\.1/;
  const connectionsBefore = broker.log.count(connection);
  await daemon.config;
  try {
    const errorLine = (await daemon.log.waitFor(/^.*MQTT error.*$/m))[0];
    assert.match(errorLine, /certificate/i);
    // The broker sees a second attempt: the daemon lived on and tried again.
    await broker.log.waitFor(connection, { times: connectionsBefore + 2 });
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
