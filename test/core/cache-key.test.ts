import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheKey } from '../../src/core/cache-key.js';

test('cacheKey is 64-bit FNV-1a: the published test vectors', () => {
  assert.equal(cacheKey(''), 'cbf29ce484222325');
  assert.equal(cacheKey('a'), 'af63dc4c8601ec8c');
  assert.equal(cacheKey('foobar'), '85944171f73967e8');
});

test('cacheKey hashes UTF-8 bytes and tells near-identical sources apart', () => {
  assert.notEqual(cacheKey('git:https://example.org/db#main'), cacheKey('git:https://example.org/db#'));
  assert.notEqual(cacheKey('directory:/srv/é'), cacheKey('directory:/srv/e'));
  assert.match(cacheKey('directory:/srv/db'), /^[0-9a-f]{16}$/);
});
