import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundedChunks } from '../../src/core/chunks.js';

test('bounded chunks: every item once, in order, in slices of a few lengths whatever the count', () => {
  const lengths = new Set<number>();
  for (let count = 0; count <= 1600; count++) {
    const items = Array.from({ length: count }, (_, i) => i);
    const slices = boundedChunks(items, 500);
    assert.deepEqual(slices.flat(), items, `count ${count}`);
    for (const slice of slices) lengths.add(slice.length);
  }
  // 500, then 256, 128, ..., 1: a statement per length is prepared at most 10 times.
  assert.deepEqual([...lengths].sort((a, b) => a - b), [1, 2, 4, 8, 16, 32, 64, 128, 256, 500]);
  assert.deepEqual(boundedChunks([1, 2, 3], 4), [[1, 2], [3]]);
  assert.deepEqual(boundedChunks([1, 2, 3, 4, 5], 4), [[1, 2, 3, 4], [5]]);
});
