import { once } from 'node:events';
import lzma from 'lzma-native';

/**
 * xz, which node's zlib lacks, and lzma (the `.lzma` format xz replaced, LZMA_Alone: liblzma's
 * auto decoder reads both, as rpm's reader does), through lzma-native: bindings to liblzma itself (the reference
 * decoder, so every check type is read: rpm writes its xz payloads with SHA-256, which the
 * WebAssembly and pure-Rust decoders on npm refuse), with a prebuilt N-API addon inside the
 * registry package (nothing downloaded, nothing compiled) that runs on node 20.
 *
 * The input is fed in small slices and each slice's output read before the next is written,
 * so memory is bounded by one slice's expansion however far the data would inflate, and a
 * consumer that stops (a cap reached) stops the decoder. liblzma's own memory limit refuses a
 * stream that asks for a larger dictionary than any real package uses.
 */
const SLICE = 4 * 1024;
const MEMLIMIT = 256 * 1024 * 1024;

export async function* inflateXz(bytes: Buffer): AsyncGenerator<Buffer> {
  if (bytes.length === 0) throw new Error('empty input');
  const decoder = lzma.createDecompressor({ synchronous: true, memlimit: MEMLIMIT });
  const feed = async (): Promise<void> => {
    for (let at = 0; at < bytes.length; at += SLICE) {
      if (decoder.destroyed) return;
      if (!decoder.write(bytes.subarray(at, at + SLICE))) await once(decoder, 'drain');
    }
    decoder.end();
  };
  feed().catch((err: unknown) => decoder.destroy(err instanceof Error ? err : new Error(String(err))));
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } finally {
    decoder.destroy();
  }
}
