import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { appNameProblem } from '../../src/fleet/add.js';
import { pageRequest } from '../../src/server/pagination.js';

test('?after= takes every application name, counted in characters as appNameProblem counts them', () => {
  // 200 characters outside the BMP: a valid name of 400 UTF-16 code units, which the server gives as nextAfter.
  const longest = '\u{1F600}'.repeat(200);
  assert.equal(appNameProblem(longest), null);
  assert.deepEqual(pageRequest({ after: longest }, { keyset: true }), { limit: 50, offset: 0, after: longest });
  assert.throws(() => pageRequest({ after: `${longest}x` }, { keyset: true }), StowageError);
});
