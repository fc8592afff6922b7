import { posix } from 'node:path';
import { InputError } from '../core/errors.js';
import { vendorPathProblem, type ArchiveFile, type TreeLink } from '../core/untrusted-tar.js';

/**
 * An Electron application's `asar` archive (`resources/app.asar`): Electron loads the
 * application and its node_modules from inside it as from a directory, so what it holds is what
 * runs. The format (@electron/asar, Electron's shell/common/asar): a pickle holding the header's
 * size (bytes 0-3: 4, bytes 4-7: the size H), then a pickle of the header, a JSON string (bytes
 * 8-11: its payload size, 12-15: the string's length L, then L bytes), then the files' bytes from
 * byte 8 + H. The header is a tree of `{"files": {NAME: node}}`: a directory has `files`, a file
 * `offset` (a decimal string, from the data's start) and `size`, a link `link` (a path from the
 * archive's root). A file marked `unpacked` is beside the archive, in `app.asar.unpacked/`,
 * where the tree holding it is read anyway. Every offset and size is checked against the bytes.
 */

/** Whether a file is an asar archive, by its name and first bytes (the size pickle's payload size, 4). */
export function isAsarArchive(path: string, head: Buffer): boolean {
  return path.endsWith('.asar') && head.length >= 16 && head.readUInt32LE(0) === 4;
}

/** The files (as views into the archive's bytes) and links an asar archive holds, by path inside it. */
export function readAsar(bytes: Buffer, label: string): { files: ArchiveFile[]; links: TreeLink[] } {
  const bad = (why: string): never => {
    throw new InputError(label, `not a readable asar archive: ${why}`);
  };
  if (bytes.length < 16) bad(`${bytes.length} bytes, shorter than its headers`);
  const headerSize = bytes.readUInt32LE(4);
  const base = 8 + headerSize;
  if (base > bytes.length || headerSize < 8) bad(`a header of ${headerSize} bytes in a file of ${bytes.length}`);
  const length = bytes.readUInt32LE(12);
  if (16 + length > base) bad(`a header string of ${length} bytes in a header of ${headerSize}`);
  let header: unknown;
  try {
    header = JSON.parse(bytes.toString('utf8', 16, 16 + length));
  } catch (err) {
    bad(`its header is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const files: ArchiveFile[] = [];
  const links: TreeLink[] = [];
  const pending: { dir: string; node: unknown }[] = [{ dir: '', node: header }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const entries = (next.node as { files?: unknown } | null)?.files;
    if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) bad(`${next.dir === '' ? 'the root' : JSON.stringify(next.dir)} is a directory without "files"`);
    for (const [name, node] of Object.entries(entries as Record<string, unknown>)) {
      const path = next.dir === '' ? name : `${next.dir}/${name}`;
      const problem = name.includes('/') ? 'a name holding "/"' : vendorPathProblem(path);
      if (problem !== null) bad(`entry ${JSON.stringify(path)}: ${problem}`);
      if (typeof node !== 'object' || node === null) bad(`entry ${JSON.stringify(path)} is not an object`);
      const entry = node as { files?: unknown; link?: unknown; offset?: unknown; size?: unknown; unpacked?: unknown; executable?: unknown };
      // Electron's archive reads "link" before "files" (Archive::Stat, GetFileInfo), and a file's
      // bytes by "offset" and "size" whatever else the node holds: a node that is both is refused.
      // (A directory of asarUnpack's is `{"files": …, "unpacked": true}` from @electron/asar: read.)
      if (entry.files !== undefined && (entry.link !== undefined || entry.offset !== undefined || entry.size !== undefined)) {
        bad(`entry ${JSON.stringify(path)} is both a directory ("files") and a ${entry.link !== undefined ? 'link' : 'file'}: Electron reads it as the latter`);
      }
      if (entry.files !== undefined) {
        pending.push({ dir: path, node });
        continue;
      }
      if (entry.link !== undefined) {
        if (typeof entry.link !== 'string' || entry.link === '') bad(`link ${JSON.stringify(path)} has no target`);
        // A path from the archive's root, made relative to the link's own directory.
        links.push({ path, target: posix.relative(posix.dirname(path), posix.normalize(entry.link as string)) || '.' });
        continue;
      }
      if (entry.unpacked === true) continue;
      const size = entry.size;
      const offset = typeof entry.offset === 'string' && /^\d+$/.test(entry.offset) ? Number(entry.offset) : NaN;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || !Number.isSafeInteger(offset)) bad(`file ${JSON.stringify(path)} has no offset and size`);
      if (base + offset + (size as number) > bytes.length) bad(`file ${JSON.stringify(path)} lies past the archive's end (truncated)`);
      files.push({ path, mode: entry.executable === true ? 0o755 : 0o644, data: bytes.subarray(base + offset, base + offset + (size as number)) });
    }
  }
  return { files, links };
}
