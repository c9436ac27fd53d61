// Who the web server answers, with real sockets: the Host check in every spelling of a loopback
// listen address, and the token a non-loopback listener requires (Bearer or basic auth).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../../src/system/errors.js';
import { sendText, WebServer } from '../../src/web/server.js';
import { rawRequest } from '../helpers/http.js';
import { freePort } from '../helpers/net.js';

const routes = new Map([
  ['/api/status', (_req: unknown, res: Parameters<typeof sendText>[0]) => sendText(res, 200, 'ok\n')],
]);
const statusLine = (response: string) => response.split('\r\n', 1)[0];
const get = (host: string, extra = '') =>
  `GET /api/status HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`;

async function withServer(host: string, token: string | undefined, run: (port: number) => Promise<void>) {
  const port = await freePort();
  const server = new WebServer({ host, port, maxConnections: 8, routes, token, onError: () => {} });
  await server.start();
  try {
    await run(port);
  } finally {
    await server.stop();
  }
}

for (const host of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1', 'localhost']) {
  test(`listening on ${host}: a foreign Host is refused (DNS rebinding), a loopback one answered`, async () => {
    await withServer(host, undefined, async (port) => {
      const connectTo = host === 'localhost' ? '127.0.0.1' : host;
      const request = (hostHeader: string) => rawRequest(port, get(hostHeader), 5000, 0, connectTo);
      assert.equal(statusLine((await request('rebind.evil.example')).response), 'HTTP/1.1 403 Forbidden');
      assert.equal(
        statusLine((await request('rebind.evil.example:8080')).response),
        'HTTP/1.1 403 Forbidden',
      );
      for (const ok of ['127.0.0.1', 'localhost:8080', '[::1]:8080', '[::ffff:7f00:1]'])
        assert.equal(statusLine((await request(ok)).response), 'HTTP/1.1 200 OK', ok);
    });
  });
}

test('a non-loopback listener without a token is refused at start, naming what to set', () => {
  assert.throws(
    () => new WebServer({ host: '0.0.0.0', port: 1, maxConnections: 8, routes, onError: () => {} }),
    (error: unknown) =>
      error instanceof UserError &&
      /http\.host: 0\.0\.0\.0 is reachable from other machines/.test(error.message) &&
      /EDGESEG_HTTP_TOKEN/.test(error.hint ?? ''),
  );
});

test('a non-loopback listener answers only requests with the token (Bearer or basic auth)', async () => {
  const token = 'a-long-enough-token-1234';
  await withServer('0.0.0.0', token, async (port) => {
    const request = (extra: string) => rawRequest(port, get('board.lan:8080', extra), 5000);
    const none = (await request('')).response;
    assert.equal(statusLine(none), 'HTTP/1.1 401 Unauthorized');
    assert.match(none, /WWW-Authenticate: Basic realm="edgeseg"/);
    assert.doesNotMatch(none, /\r\n\r\nok/);
    for (const wrong of [
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      'Bearer ',
      `Basic ${Buffer.from(`u:${token}x`).toString('base64')}`,
    ])
      assert.equal(
        statusLine((await request(`Authorization: ${wrong}\r\n`)).response),
        'HTTP/1.1 401 Unauthorized',
        wrong,
      );
    assert.equal(
      statusLine((await request(`Authorization: Bearer ${token}\r\n`)).response),
      'HTTP/1.1 200 OK',
    );
    const basic = Buffer.from(`viewer:${token}`).toString('base64');
    assert.equal(
      statusLine((await request(`Authorization: Basic ${basic}\r\n`)).response),
      'HTTP/1.1 200 OK',
    );
  });
});
