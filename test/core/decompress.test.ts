import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
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

/**
 * zstd data that ends exactly on a 128 KiB chunk (a tar in 256 does): the frame is complete when
 * the last chunk is full, and a second frame after such a one is read too (`zstd` writes one
 * frame per file; concatenated files are one stream to `zstd -d`).
 */
test('zstd that inflates to a whole number of 128 KiB chunks is read whole, in one frame or after one', async () => {
  const data = Buffer.alloc(2 * 128 * 1024, 'stowage ');
  const frame = execFileSync('zstd', ['-q', '-c'], { input: data });
  const read = async (bytes: Buffer): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of inflate(bytes, 'zst')) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  assert.ok((await read(frame)).equals(data));
  const tail = Buffer.from('and the next frame\n');
  const two = Buffer.concat([frame, execFileSync('zstd', ['-q', '-c'], { input: tail })]);
  assert.ok((await read(two)).equals(Buffer.concat([data, tail])));
  // Truncated, it is still refused.
  await assert.rejects(read(frame.subarray(0, frame.length - 4)), /unexpected end of data/);
});
