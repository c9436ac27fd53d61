// The request border: whatever bytes arrive on request/<name>, the router answers with a bounded
// response and never throws; the transaction is echoed only when it is a short string or an integer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { EmptyRequestSchema, RequestRouter, requestSchema } from '../../src/mqtt/requests.js';

function router(): RequestRouter {
  return new RequestRouter(65536)
    .on('ping', EmptyRequestSchema, async () => ({ pong: true }))
    .on('set', requestSchema({ config: z.record(z.string(), z.unknown()) }), async (request) => ({
      keys: Object.keys(request.config),
    }));
}

const send = (r: RequestRouter, name: string, payload: unknown) =>
  r.handle(name, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)));

test('a deeply nested transaction gets an error, not a crash, and is not echoed', async () => {
  const deep = `{"transaction":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
  const response = await router().handle('ping', Buffer.from(deep));
  assert.equal(response.status, 'error');
  assert.equal(response.transaction, undefined);
  // The response must be publishable: this threw "Maximum call stack size exceeded" before.
  assert.ok(JSON.stringify(response).length < 2000);
});

test('transactions: short strings and integers are echoed; anything else is refused without echo', async () => {
  const r = router();
  assert.equal((await send(r, 'ping', { transaction: 'tx-1' })).transaction, 'tx-1');
  assert.equal((await send(r, 'ping', { transaction: 42 })).transaction, 42);
  for (const transaction of [{ a: 1 }, [1], 'x'.repeat(129), 1.5, true, null]) {
    const response = await send(r, 'ping', { transaction });
    assert.equal(response.status, 'error', JSON.stringify(transaction));
    assert.equal(response.transaction, undefined);
    assert.match(response.error!, /transaction/);
  }
});

test('unknown keys are refused by name; a request that fails a later check keeps its transaction', async () => {
  const r = router();
  const extra = await send(r, 'ping', { transaction: 't2', extra: true });
  assert.equal(extra.status, 'error');
  assert.equal(extra.transaction, 't2');
  assert.match(extra.error!, /extra: unknown key/);
  const missing = await send(r, 'set', { transaction: 't3' });
  assert.match(missing.error!, /config/);
  const wrong = await send(r, 'set', { transaction: 't4', config: [] });
  assert.match(wrong.error!, /config/);
});

test('prototype keys, deep nesting, huge strings and huge arrays are refused at the border', async () => {
  const r = router();
  const cases: Array<[string, RegExp]> = [
    ['{"transaction":"p","config":{"__proto__":{"fps":1}}}', /"__proto__" is not allowed/],
    ['{"transaction":"p","config":{"constructor":{"prototype":{}}}}', /"constructor" is not allowed/],
    [`{"transaction":"p","config":${'{"a":'.repeat(20)}1${'}'.repeat(20)}}`, /nested deeper/],
    [`{"transaction":"p","config":{"s":"${'x'.repeat(5000)}"}}`, /limited to 4096/],
    [`{"transaction":"p","config":{"a":[${'0,'.repeat(2000)}0]}}`, /more than 1024 entries/],
  ];
  for (const [payload, error] of cases) {
    const response = await r.handle('set', Buffer.from(payload));
    assert.equal(response.status, 'error', payload.slice(0, 60));
    assert.equal(response.transaction, 'p');
    assert.match(response.error!, error);
  }
  assert.equal(({} as Record<string, unknown>).fps, undefined, 'Object.prototype untouched');
});

test('random bytes, non-objects and unknown names are answered, never thrown', async () => {
  const r = router();
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < 500; i++) {
    const bytes = Buffer.from(
      Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)),
    );
    const response = await r.handle(random() < 0.5 ? 'ping' : 'set', bytes);
    assert.ok(response.status === 'error' || response.status === 'ok');
  }
  for (const payload of ['[]', '"x"', '1', 'null', 'true']) {
    assert.match((await send(r, 'ping', payload)).error!, /must be a JSON object/);
  }
  assert.match((await send(r, 'reboot', {})).error!, /unknown request "reboot"/);
});

test('an oversized payload is refused from its first kilobyte, its transaction still echoed', async () => {
  const r = new RequestRouter(1024).on('ping', EmptyRequestSchema, async () => 'pong');
  const response = await send(r, 'ping', { transaction: 'big', pad: 'x'.repeat(5000) });
  assert.equal(response.transaction, 'big');
  assert.match(response.error!, /limit is 1024/);
});

test('requests beyond the in-flight limit are answered busy at once', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const r = new RequestRouter(65536, 2).on('slow', EmptyRequestSchema, async () => gate);
  const first = r.handle('slow', Buffer.from('{}'));
  const second = r.handle('slow', Buffer.from('{}'));
  const third = await r.handle('slow', Buffer.from('{"transaction":"t"}'));
  assert.equal(third.status, 'error');
  assert.equal(third.transaction, 't');
  assert.match(third.error!, /busy/);
  release();
  assert.equal((await first).status, 'ok');
  assert.equal((await second).status, 'ok');
});
