import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../../src/core/errors.js';
import { readCpio } from '../../../src/inputs/rpm/cpio.js';

/**
 * An RPM payload's cpio, written here by hand from the "new ASCII" format (110-byte header of
 * 8-hex-digit fields, name and data padded to 4), with file data made as it is read: a payload
 * far larger than anything held in memory.
 */

const MiB = 1024 * 1024;
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

function header(name: string, size: number, mode = 0o100755): Buffer {
  const fields = [1, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0].map((n) => n.toString(16).padStart(8, '0'));
  const head = Buffer.from(`070701${fields.join('')}${name}\0`, 'latin1');
  return Buffer.concat([head, Buffer.alloc((4 - (head.length % 4)) % 4)]);
}

/** The cpio stream of these entries (`head` then zeros, `size` bytes each) and its trailer, chunk by chunk. */
async function* payload(entries: { name: string; size: number; head?: Buffer }[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield header(entry.name, entry.size);
    let left = entry.size;
    if (entry.head) {
      yield entry.head;
      left -= entry.head.length;
    }
    for (; left > 0; left -= MiB) yield Buffer.alloc(Math.min(MiB, left));
    yield Buffer.alloc((4 - (entry.size % 4)) % 4);
  }
  yield header('TRAILER!!!', 0, 0);
}

const limits = { label: 'demo.rpm: payload', maxBytes: 1024 * MiB, maxEntries: 100, maxKeptFileBytes: MiB, keep: (_path: string, head: Buffer) => head.subarray(0, 4).equals(ELF) };

test('a file that is not kept is passed over however large; a kept one is read whole', async () => {
  const files = await readCpio(payload([{ name: './usr/share/zeros', size: 256 * MiB }, { name: './usr/bin/tool', size: 5000, head: ELF }]), limits);
  assert.deepEqual(files.map((f) => [f.path, f.data.length, f.mode]), [['usr/bin/tool', 5000, 0o755]]);
  assert.ok(files[0]?.data.subarray(0, 4).equals(ELF));
});

test('a kept file past its cap, a payload past its byte cap: one line each, naming the payload', async () => {
  await assert.rejects(readCpio(payload([{ name: './usr/bin/bomb', size: 64 * MiB, head: ELF }]), limits), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.equal(err.line, 'demo.rpm: payload: payload entry "./usr/bin/bomb": a file read whole (a binary) larger than 1048576 bytes');
    return true;
  });
  await assert.rejects(readCpio(payload([{ name: './usr/share/zeros', size: 64 * MiB }]), { ...limits, maxBytes: 16 * MiB }), /the payload expands past 16777216 bytes/);
});

test("rpm's stripped cpio (07070X, for files of 4 GiB or more) is refused naming the format; newc with a checksum (070702), which rpm reads, is read", async () => {
  async function* stripped(): AsyncGenerator<Buffer> {
    yield Buffer.from(`07070X${'00000000'}`.padEnd(110, '0'), 'latin1');
  }
  await assert.rejects(
    readCpio(stripped(), limits),
    (err: unknown) => err instanceof InputError && /^demo\.rpm: payload: the payload is in rpm's stripped cpio format \(07070X, which rpmbuild writes for a package holding a file of 4 GiB or more/.test(err.line),
  );
  async function* crc(): AsyncGenerator<Buffer> {
    for await (const chunk of payload([{ name: './usr/bin/tool', size: 100, head: ELF }])) {
      yield chunk.toString('latin1', 0, 6) === '070701' ? Buffer.concat([Buffer.from('070702', 'latin1'), chunk.subarray(6)]) : chunk;
    }
  }
  const files = await readCpio(crc(), limits);
  assert.deepEqual(files.map((f) => f.path), ['usr/bin/tool']);
});
