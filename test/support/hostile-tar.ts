import tarStream, { type Header } from 'tar-stream';

/** One entry of a hand-made archive: any header tar-stream will write, and its data. */
export type TarEntry = { header: Partial<Header> & { name: string }; data?: string | Buffer };

/** A tar written by tar-stream, which writes whatever it is told: the hostile archives' maker. */
export async function packTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { header, data } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data === undefined) pack.entry(header, done);
      else pack.entry(header, data, done);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * A gzip-compressed tar holding `entries`, then one file of `size` bytes (`head`, then zeros)
 * that compresses about a thousand to one: a decompression bomb. Written as a stream, so the
 * test never holds the expanded bytes either.
 */
export async function gzipBombTar(entries: readonly TarEntry[], bomb: { name: string; size: number; head?: Buffer }): Promise<Buffer> {
  const { createGzip } = await import('node:zlib');
  const pack = tarStream.pack();
  const gzip = createGzip({ level: 1 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    gzip.on('end', () => resolve());
    gzip.on('error', reject);
  });
  pack.pipe(gzip);
  for (const { header, data } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(header, data ?? '', (err?: Error | null) => (err ? reject(err) : resolve())));
  }
  await new Promise<void>((resolve, reject) => {
    const stream = pack.entry({ name: bomb.name, size: bomb.size, mode: 0o644, type: 'file' }, (err?: Error | null) => (err ? reject(err) : resolve()));
    const zeros = Buffer.alloc(1024 * 1024);
    let left = bomb.size;
    const write = (): void => {
      while (left > 0) {
        const first = left === bomb.size && bomb.head ? Buffer.concat([bomb.head, zeros]).subarray(0, Math.min(zeros.length, left)) : zeros.subarray(0, Math.min(zeros.length, left));
        left -= first.length;
        if (!stream.write(first)) return void stream.once('drain', write);
      }
      stream.end(Buffer.alloc(0));
    };
    write();
  });
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}
