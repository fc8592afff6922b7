import { createGunzip } from 'node:zlib';
import zstd from 'zstd-napi/binding.js';

/**
 * The compressions of the archives stowage reads: its own vendor archives (zstd, gzip), npm
 * tarballs and `.crate` files (gzip), and what ships (a `.deb`'s members, an RPM's payload, an
 * image's layers: xz, zstd, gzip; lzma, xz's predecessor, in older `.deb` and RPM files).
 * Inflated chunk by chunk, so a reader that counts what it receives stops a compression bomb at
 * its cap without buffering it.
 */
export type Compression = 'gz' | 'zst' | 'xz' | 'lzma' | 'none';

const ZSTD_OUT_CHUNK = 128 * 1024;
/**
 * gzip's output chunk: zlib's default of 16 KiB made inflating cost a thread-pool round trip per
 * 16 KiB (a 4 GiB bomb: 20 s of CPU, half of it in the kernel); 128 KiB, as for zstd, took 3 s.
 */
const GZIP_OUT_CHUNK = 128 * 1024;
const RAW_CHUNK = 64 * 1024;

/** The compression the magic bytes announce; null when they are none of these. */
export function compressionOf(bytes: Buffer): Exclude<Compression, 'none'> | null {
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0xfd2fb528) return 'zst';
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gz';
  if (bytes.length >= 6 && bytes.subarray(0, 6).equals(XZ_MAGIC)) return 'xz';
  return null;
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * A compression stowage does not inflate, told by its magic bytes where the container does not
 * name it (an image layer): bzip2 (`BZh` and a block size digit, then a block's or the end's magic).
 */
export function unreadCompressionOf(bytes: Buffer): string | null {
  if (bytes.length >= 10 && bytes.toString('latin1', 0, 3) === 'BZh' && (bytes[3] as number) >= 0x31 && (bytes[3] as number) <= 0x39) {
    const block = bytes.subarray(4, 10).toString('hex');
    if (block === '314159265359' || block === '177245385090') return 'bzip2';
  }
  return null;
}

export function compressionName(compression: Compression): string {
  return { gz: 'gzip', zst: 'zstd', xz: 'xz', lzma: 'lzma', none: 'tar' }[compression];
}

/** The inflated bytes, chunk by chunk, as the consumer asks for them. */
export async function* inflate(bytes: Buffer, compression: Compression): AsyncGenerator<Buffer> {
  switch (compression) {
    case 'none':
      for (let at = 0; at < bytes.length; at += RAW_CHUNK) yield bytes.subarray(at, at + RAW_CHUNK);
      return;
    case 'gz': {
      // zlib stops inflating while its readable side is full (checked: a 1 GiB bomb read
      // 80 KiB in holds 3 MB), so the consumer's pace bounds memory.
      const gunzip = createGunzip({ chunkSize: GZIP_OUT_CHUNK });
      gunzip.end(bytes);
      for await (const chunk of gunzip) yield chunk as Buffer;
      return;
    }
    case 'zst':
      yield* inflateZstd(bytes);
      return;
    case 'xz':
    case 'lzma':
      // Loaded only for xz and lzma data (see xz.ts).
      yield* (await import('./xz.js')).inflateXz(bytes);
      return;
  }
}

/**
 * zstd-napi's DecompressStream inflates a whole input chunk at once, and its one-shot
 * decompress trusts the frame's claimed size; the bare ZSTD_decompressStream loop below
 * produces one bounded chunk per step instead. The window stays capped at zstd's default
 * limit (2^27 bytes), so a frame cannot ask for more memory than that.
 */
function* inflateZstd(bytes: Buffer): Generator<Buffer> {
  if (bytes.length === 0) throw new Error('empty input');
  const dctx = new zstd.DCtx();
  let input: Buffer = bytes;
  for (;;) {
    const out = Buffer.allocUnsafe(ZSTD_OUT_CHUNK);
    const [remaining, produced, consumed] = dctx.decompressStream(out, input);
    input = input.subarray(consumed);
    if (produced > 0) yield out.subarray(0, produced);
    // 0: a frame decoded and flushed. Its last byte may fill the chunk exactly (any data whose
    // size is a multiple of the chunk: 1 tar in 256); a further call would await a new frame.
    if (input.length === 0 && remaining === 0) return;
    if (input.length === 0 && produced < out.length) {
      if (remaining !== 0) throw new Error('unexpected end of data: the last frame is incomplete');
      return;
    }
    if (produced === 0 && consumed === 0) throw new Error('the decoder makes no progress');
  }
}
