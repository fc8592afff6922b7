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
