import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, isTransientNetworkError, retryAfterMs } from '../../src/core/http.js';

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
