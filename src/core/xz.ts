import xzDecompress from 'xz-decompress';

/**
 * xz, which node's zlib lacks. xz-decompress is XZ Embedded (the Linux kernel's xz decoder)
 * compiled to WebAssembly: no native build and no prebuilt download, it inflates as it is read
 * (so a cap on the inflated bytes stops a bomb early), and it runs on node 20. Its module is
 * loaded only when xz data is met: compiling the WebAssembly costs a few hundred milliseconds.
 */
export async function* inflateXz(bytes: Buffer): AsyncGenerator<Buffer> {
  if (bytes.length === 0) throw new Error('empty input');
  const input = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      controller.close();
    },
  });
  const reader = new xzDecompress.XzReadableStream(input).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  } finally {
    // Stops the decoder when the reader gives up early (a cap reached, a bad entry).
    await reader.cancel().catch(() => undefined);
  }
}
