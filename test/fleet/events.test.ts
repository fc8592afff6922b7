import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventParts } from '../../src/fleet/events.js';

test('eventParts: a long list is split into parts of the same shape; the other fields in each, the first-only ones in the first', () => {
  const body = { schemaVersion: 1, apps: ['a', 'b', 'c', 'd', 'e'], failed: [{ name: 'x' }] };
  const parts = [...eventParts(body, 'apps', 2, ['failed'])];
  assert.deepEqual(parts, [
    { schemaVersion: 1, apps: ['a', 'b'], failed: [{ name: 'x' }] },
    { schemaVersion: 1, apps: ['c', 'd'], failed: [] },
    { schemaVersion: 1, apps: ['e'], failed: [] },
  ]);
  // Key order is the body's in every part (the same JSON shape as the command's).
  for (const part of parts) assert.deepEqual(Object.keys(part), ['schemaVersion', 'apps', 'failed']);
  // Short enough: one part, the body as it is.
  assert.deepEqual([...eventParts(body, 'apps', 5, ['failed'])], [body]);
  assert.deepEqual([...eventParts({ changes: [], summary: { new: 0 } }, 'changes', 1)], [{ changes: [], summary: { new: 0 } }]);
});
