import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compressionForPath, readArchive, writeArchive } from '../../src/core/archive.js';
import type { ArchiveFile } from '../../src/core/untrusted-tar.js';
import { tempDir } from './shared.js';

/**
 * A copy of a vendor archive made by `stowage vendor`, with its files changed by `edit` (one
 * rewritten, one added, one left out) and packed again as stowage packs one: what someone who can
 * edit the archive on its way (a mirror, an SRPM rebuilt) can ship. The original is left alone;
 * the copy is written, with the same file name, in a new directory (under `under`, when given).
 */
export async function tamperedArchive(archive: string, edit: (files: ArchiveFile[]) => ArchiveFile[], under?: string): Promise<string> {
  const files = await readArchive(readFileSync(archive), archive);
  const out = join(under === undefined ? tempDir('tampered-archive') : mkdtempSync(join(under, 'tampered-')), basename(archive));
  writeFileSync(out, await writeArchive(edit(files), { compression: compressionForPath(out), mtime: 315532800 }));
  return out;
}

/** `files` with the one at `path` given new bytes (it must be there). */
export function rewrite(files: ArchiveFile[], path: string, change: (data: Buffer) => Buffer): ArchiveFile[] {
  const at = files.findIndex((f) => f.path === path);
  if (at < 0) throw new Error(`the archive holds no ${path}`);
  return files.map((f, i) => (i === at ? { ...f, data: change(f.data) } : f));
}

/** `files` with `text` replaced by `by` in the text file at `path` (the text must be there). */
export function rewriteText(files: ArchiveFile[], path: string, text: string, by: string): ArchiveFile[] {
  return rewrite(files, path, (data) => {
    const before = data.toString('utf8');
    if (!before.includes(text)) throw new Error(`${path} does not hold ${JSON.stringify(text)}`);
    return Buffer.from(before.replace(text, by), 'utf8');
  });
}
