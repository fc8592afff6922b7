import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { inflate } from '../../src/core/decompress.js';

/**
 * How gzip data is inflated: in chunks of 128 KiB, not zlib's default 16 KiB. Each chunk is a
 * round trip through node's thread pool; at 16 KiB a pushed 4 GiB gzip bomb cost about 20 s of
 * CPU before its cap refused it (half of it in the kernel), at 128 KiB about 4 s.
 */
test('gzip is inflated 128 KiB at a time, every byte of it', async () => {
  const data = Buffer.alloc(8 * 1024 * 1024, 'stowage ');
  const chunks: Buffer[] = [];
  for await (const chunk of inflate(gzipSync(data), 'gz')) chunks.push(chunk);
  assert.ok(Buffer.concat(chunks).equals(data));
  assert.equal(chunks.length, 64, `${chunks.length} chunks for 8 MiB`);
});
