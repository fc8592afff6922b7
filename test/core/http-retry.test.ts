import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { backoffMs, httpGet, isTransientNetworkError, retryAfterMs } from '../../src/core/http.js';

test('Retry-After is read as delay-seconds or an HTTP date; anything else is no answer', () => {
  const now = Date.parse('2026-12-07T17:00:00Z');
  assert.equal(retryAfterMs('5', now), 5000);
  assert.equal(retryAfterMs(' 120 ', now), 120_000);
  assert.equal(retryAfterMs('0', now), 0);
  assert.equal(retryAfterMs('Mon, 07 Dec 2026 17:00:30 GMT', now), 30_000);
  assert.equal(retryAfterMs('Mon, 07 Dec 2026 16:59:00 GMT', now), 0, 'a date already past: at once');
  for (const given of [null, '', '-1', '1.5', '5 s', '2026-12-07T17:00:30Z', 'soon', 'Mon, 99 Dec 2026 17:00:30 GMT']) {
    assert.equal(retryAfterMs(given, now), null, JSON.stringify(given));
  }
});

test('the backoff doubles from its first wait up to its cap, jittered over the upper half, never under the floor', () => {
  const options = { firstMs: 1000, capMs: 30_000 };
  assert.equal(backoffMs(1, { ...options, random: () => 0 }), 500);
  assert.equal(backoffMs(1, { ...options, random: () => 1 }), 1000);
  assert.equal(backoffMs(3, { ...options, random: () => 0 }), 2000);
  assert.equal(backoffMs(3, { ...options, random: () => 1 }), 4000);
  assert.equal(backoffMs(20, { ...options, random: () => 1 }), 30_000);
  assert.equal(backoffMs(20, { ...options, random: () => 0 }), 15_000);
  // The server's Retry-After is a floor, the jitter still spreads the clients it answered.
  assert.equal(backoffMs(1, { ...options, floorMs: 5000, random: () => 0 }), 5000);
  assert.equal(backoffMs(1, { ...options, floorMs: 5000, random: () => 1 }), 5500);
});

test('a refused or cut connection is worth another attempt; an unknown name or a certificate is not', () => {
  const failed = (code: string): Error => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'EAI_AGAIN']) assert.equal(isTransientNetworkError(failed(code)), true, code);
  for (const code of ['ENOTFOUND', 'CERT_HAS_EXPIRED', 'UND_ERR_HEADERS_TIMEOUT']) assert.equal(isTransientNetworkError(failed(code)), false, code);
  assert.equal(isTransientNetworkError(new Error('x')), false);
});

/** A server answering each GET with the next of `answers` (then 200 "ok"), counting them. */
async function answering(answers: ((res: ServerResponse) => void)[]): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests++;
    const answer = answers.shift();
    if (answer) answer(res);
    else res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/db.zip`,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const status =
  (code: number, headers: Record<string, string> = {}) =>
  (res: ServerResponse): void => {
    res.writeHead(code, headers);
    res.end();
  };

const failure = (reason: string): string => `cannot download advisory database db${reason}`;

test('a GET answered 429 or 503 waits for the Retry-After (seconds or a date), never less, then is sent again', async () => {
  const date = new Date(Date.now() + 20_000).toUTCString();
  const server = await answering([status(503, { 'retry-after': '7' }), status(429, { 'retry-after': date }), status(502)]);
  const waited: number[] = [];
  try {
    const body = await httpGet(server.url, { failure }, { backoffMs: 10, sleep: async (ms) => void waited.push(ms) });
    assert.equal(body?.toString(), 'ok');
    assert.equal(server.requests(), 4);
    assert.equal(waited.length, 3);
    const [first, second, third] = waited as [number, number, number];
    assert.ok(first >= 7000 && first <= 7000 + 5, `${first} ms: the Retry-After, give or take the backoff's jitter`);
    assert.ok(second >= 18_000 && second <= 20_010, `${second} ms: until the date`);
    assert.ok(third >= 20 && third <= 40, `${third} ms: no Retry-After, the backoff's third wait`);
  } finally {
    await server.close();
  }
});

test('a GET asked to wait longer than stowage waits fails at once, naming the wait; the last attempt ends as before', async () => {
  const server = await answering([status(503, { 'retry-after': '3600' })]);
  const waited: number[] = [];
  try {
    await assert.rejects(
      httpGet(server.url, { failure }, { sleep: async (ms) => void waited.push(ms) }),
      (err: Error) => err instanceof StowageError && err.message === `cannot download advisory database db: HTTP 503, asking to be sent again in 3600 s (stowage waits at most 60 s)`,
    );
    assert.equal(server.requests(), 1);
    assert.deepEqual(waited, []);
  } finally {
    await server.close();
  }
});

test('a GET whose connection is cut is sent again; one whose host name does not resolve, or a certificate fails, is not', async () => {
  const server = await answering([(res) => res.socket?.destroy()]);
  try {
    assert.equal((await httpGet(server.url, { failure }, { sleep: async () => undefined }))?.toString(), 'ok');
    assert.equal(server.requests(), 2);
  } finally {
    await server.close();
  }
  for (const code of ['ENOTFOUND', 'CERT_HAS_EXPIRED']) {
    let calls = 0;
    const fetchImpl = (async () => {
      calls++;
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
    }) as typeof fetch;
    await assert.rejects(httpGet('https://registry.example/x', { failure }, { fetchImpl, sleep: async () => undefined }), { message: `cannot download advisory database db: ${code}` });
    assert.equal(calls, 1, `${code}: tried once`);
  }
});
