// 10,000 hostile requests against the real daemon through a real mosquitto: random bytes, wrong
// types for every key, deep nesting, oversized payloads, prototype keys, injection strings for every
// scheme. The daemon must not crash, must keep segmenting, must answer every request whose
// transaction is usable, and its persisted configuration must stay byte-identical.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

const REQUESTS = 10_000;
const DEVICE = 'cam-fuzz';
const BASE = `edgeseg/${DEVICE}`;

let daemon: DaemonProcess;
let stateDir: string;

/** A small seeded PRNG, so that a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INJECTIONS = [
  ' ! filesink location=/tmp/x',
  '"!filesink location="/tmp/x',
  '%20!%20fakesink',
  ';touch /tmp/p',
  '$(id)',
  '`id`',
  '|id',
  '../../etc/shadow',
  'concat:/etc/passwd|/etc/shadow',
  '\n',
];
const SCHEMES = [
  'csi://',
  'v4l2://',
  'rtsp://cam/',
  'rtsps://cam/',
  'file:///tmp/',
  'dir:///tmp/',
  'videotest://',
  'test://',
  '/tmp/',
];

/** Values each key must refuse (wrong type, out of range, locked, secret, injection). */
function invalidValues(pick: <T>(items: readonly T[]) => T): Record<string, () => unknown> {
  return {
    fps: () => pick(['fast', -1, 0, 1000, null, true, [1], { a: 1 }]),
    model: () => pick([3, '../x', '/etc', '', 'a/b', null, 'no-such-model', 'x'.repeat(300)]),
    publish: () =>
      pick([
        'x',
        3,
        { mask: { width: 20000, height: 20000 } },
        { mask: { width: -1 } },
        { overlay: { alpha: 2 } },
        { unknown: 1 },
        { health: { interval_ms: 0 } },
        { classes: 'road' },
      ]),
    regions: () =>
      pick([
        'x',
        [{ name: 'a' }],
        [
          {
            name: 'bad name!',
            polygon: [
              [0, 0],
              [1, 0],
              [1, 1],
            ],
          },
        ],
        Array.from({ length: 33 }, (_, i) => ({
          name: `r${i}`,
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
        })),
        [
          {
            name: 'a',
            polygon: [
              [2, 2],
              [0, 0],
              [1, 1],
            ],
          },
        ],
      ]),
    log: () => pick([{ level: 'verbose' }, { format: 'json' }, 'x', { level: 'debug', file: '/tmp/x' }]),
    source: () => `${pick(SCHEMES)}${pick(INJECTIONS)}`,
    capture: () => pick([{ backend: 'sh' }, { width: 1e9 }, { username: 'x' }, { password: 'x' }, 'x']),
    mqtt: () =>
      pick([{ url: 'mqtt://evil:1883' }, { password: 'x' }, { tls: { reject_unauthorized: false } }]),
    engine: () => pick([{ runtime: 'tfjs' }, { intra_op_threads: 1000 }]),
    state_dir: () => pick(['/tmp', '/', '']),
    device_id: () => pick(['other', '../x', '#']),
    models_dir: () => pick(['/etc', '/tmp']),
    remote_config: () => ({ unlock: ['mqtt'] }),
    fpz: () => 1,
    constructor: () => ({ prototype: { polluted: true } }),
  };
}

interface Hostile {
  name: string;
  payload: Buffer;
  /** The transaction a response must echo, when the request carries a usable one. */
  expect: string | undefined;
}

function hostileRequest(index: number, random: () => number): Hostile {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const transaction = `f-${index}`;
  const body = (value: unknown) => Buffer.from(JSON.stringify(value));
  const kind = random();
  if (kind < 0.15) {
    // Random bytes (never empty: an empty payload is a valid request for some names).
    const bytes = Buffer.from(
      Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)),
    );
    bytes[0] = 0xff; // never starts as JSON
    return {
      name: pick(['config/set', 'config/get', 'health', 'pause', 'snapshot']),
      payload: bytes,
      expect: undefined,
    };
  }
  if (kind < 0.25) {
    // Unusable transactions: deep arrays, objects, long strings, fractions.
    const depth = 10 + Math.floor(random() * 5000);
    const bad = pick([
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
      '{"a":1}',
      JSON.stringify('x'.repeat(200)),
      '1.5',
      'true',
    ]);
    return {
      name: pick(['health', 'config/get', 'config/set']),
      payload: Buffer.from(`{"transaction":${bad}}`),
      expect: undefined,
    };
  }
  if (kind < 0.3) {
    // Deep nesting inside the config.
    const depth = 9 + Math.floor(random() * 3000);
    return {
      name: 'config/set',
      payload: Buffer.from(
        `{"transaction":"${transaction}","config":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      ),
      expect: transaction,
    };
  }
  if (kind < 0.31) {
    // Oversized: refused from its first kilobyte, transaction still echoed.
    return {
      name: 'config/set',
      payload: body({ transaction, config: { fps: 5 }, pad: 'x'.repeat(70_000) }),
      expect: transaction,
    };
  }
  if (kind < 0.36) {
    const proto = pick(['__proto__', 'constructor', 'prototype']);
    return {
      name: 'config/set',
      payload: Buffer.from(
        `{"transaction":"${transaction}","config":{"${proto}":{"fps":1,"polluted":true}}}`,
      ),
      expect: transaction,
    };
  }
  if (kind < 0.42) {
    // Unknown request names (valid topic levels only) and extra keys on known ones.
    const name = pick([
      'reboot',
      'x/y/z',
      '..',
      'config',
      'config/set/extra',
      'ünïcode',
      'a'.repeat(200),
      'pause',
      'resume',
      'snapshot',
      'health',
    ]);
    return { name, payload: body({ transaction, extra: pick([1, 'x', null]) }), expect: transaction };
  }
  // config/set with one or more keys, every value invalid for its key.
  const values = invalidValues(pick);
  const keys = Object.keys(values);
  const config: Record<string, unknown> = {};
  const count = 1 + Math.floor(random() * 3);
  for (let k = 0; k < count; k++) {
    const key = pick(keys);
    config[key] = values[key]!();
  }
  return { name: 'config/set', payload: body({ transaction, config }), expect: transaction };
}

const suite = useDaemonSuite({
  setUp: async ({ dir, broker, startDaemon }) => {
    stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, 'remote-config.json'), `${JSON.stringify({ fps: 6 }, null, 2)}\n`);
    // source and capture unlocked, so that injection strings reach the URI grammar itself.
    const config = testConfig(dir, broker.url, {
      device_id: DEVICE,
      state_dir: stateDir,
      remote_config: { unlock: ['source', 'capture'] },
    });
    daemon = startDaemon(await writeConfig(join(dir, 'config.yaml'), config));
  },
});

test(`${REQUESTS} hostile requests: no crash, every usable transaction answered, persisted config unchanged`, {
  timeout: 600_000,
}, async () => {
  const recorder = await suite.recorder([`${BASE}/response/#`, `${BASE}/status`, `${BASE}/stats`]);
  try {
    await recorder.waitFor(isOnlineStatus(BASE), 60_000, true);
    const persisted = async () =>
      createHash('sha256')
        .update(await readFile(join(stateDir, 'remote-config.json')))
        .digest('hex');
    const before = await persisted();
    const answered = new Set<string>();
    recorder.client.on('message', (topic, payload) => {
      if (!topic.startsWith(`${BASE}/response/`)) return;
      const transaction = json(payload).transaction;
      if (typeof transaction === 'string') answered.add(transaction);
    });
    const random = prng(20261130);
    const expected: string[] = [];
    const started = Date.now();
    for (let i = 0; i < REQUESTS; i++) {
      const request = hostileRequest(i, random);
      if (request.expect) expected.push(request.expect);
      recorder.client.publish(`${BASE}/request/${request.name}`, request.payload, { qos: 1 });
      // Keep at most ~200 requests unanswered: a bounded load, not a flood of the loopback.
      while (expected.length - answered.size > 200) {
        assert.ok(daemon.running(), `the daemon exited after request ${i}:\n${daemon.stderr().slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const deadline = Date.now() + 60_000;
    while (answered.size < expected.length && Date.now() < deadline && daemon.running())
      await new Promise((resolve) => setTimeout(resolve, 50));
    const seconds = (Date.now() - started) / 1000;
    const missing = expected.filter((t) => !answered.has(t));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${expected.length} requests unanswered`);
    assert.ok(daemon.running(), `the daemon exited:\n${daemon.stderr().slice(-3000)}`);
    assert.equal(await persisted(), before, 'the persisted configuration changed');
    // Still segmenting, still answering.
    await recorder.waitFor((m) => m.topic === `${BASE}/stats`, 20_000);
    const health = await recorder.request(BASE, 'health', {}, 'after-fuzz');
    assert.equal(health.status, 'ok');
    process.stderr.write(
      `fuzz: ${REQUESTS} requests (${expected.length} with a usable transaction, all answered) in ${seconds.toFixed(1)} s; rss ${((health.data as { rssBytes: number }).rssBytes / 1e6).toFixed(0)} MB\n`,
    );
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0);
  } finally {
    recorder.end();
  }
});
