// One host grammar at every border that takes a host: camera URIs, the MQTT broker URL, RTP outputs
// and the web server's address accept and refuse the same hosts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSourceUri } from '../../src/capture/uri.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { parseRtpUri } from '../../src/output/rtp-uri.js';

/** Whether each border takes `host` (as written in a URL: an IPv6 literal in brackets). */
function takenBy(host: string): Record<string, boolean> {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const accepts = (attempt: () => unknown) => {
    try {
      attempt();
      return true;
    } catch {
      return false;
    }
  };
  return {
    camera: accepts(() => parseSourceUri(`rtsp://${host}:554/stream`)),
    rtp: parseRtpUri(`rtp://${host}:5004`).ok,
    broker: ConfigSchema.shape.mqtt.safeParse({ url: `mqtt://${host}:1883` }).success,
    web: ConfigSchema.shape.http.safeParse({ host: bare }).success,
  };
}

test('every border takes the same hosts: IP literals and DNS names', () => {
  for (const host of ['cam.local', 'broker', '192.168.1.10', '10.0.0.1', '[::1]', '[fe80::1]', 'a-b.example'])
    assert.deepEqual(takenBy(host), { camera: true, rtp: true, broker: true, web: true }, host);
});

test('every border refuses the same hosts: "1.2.3" (read as 1.2.0.3), zone ids, bad labels', () => {
  for (const host of ['1.2.3', '10.1', '[fe80::1%eth0]', 'a..b', '-x.example', 'x-.example', '999.1.1.1'])
    assert.deepEqual(takenBy(host), { camera: false, rtp: false, broker: false, web: false }, host);
});
