import { InputError } from '../../core/errors.js';

/** One member of an `ar` archive, its bytes a view into the archive's. */
export interface ArMember {
  name: string;
  data: Buffer;
}

const GLOBAL_HEADER = Buffer.from('!<arch>\n', 'latin1');
const HEADER_LENGTH = 60;

/**
 * The members of a common-format `ar` archive, the container of a `.deb` (deb(5)): an 8-byte
 * magic, then per member a 60-byte header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10,
 * "`\n") and its data, padded to an even offset. Names are read as dpkg reads them (a GNU `/`
 * terminator dropped); the long-name tables of GNU and BSD `ar` are not used by `.deb` files and
 * are not read. Written by hand: no maintained npm reader of `ar` checks truncation and sizes.
 */
export function readAr(bytes: Buffer, label: string): ArMember[] {
  if (bytes.length < GLOBAL_HEADER.length || !bytes.subarray(0, GLOBAL_HEADER.length).equals(GLOBAL_HEADER)) {
    throw new InputError(label, 'not an ar archive (no "!<arch>" header)');
  }
  const members: ArMember[] = [];
  let at = GLOBAL_HEADER.length;
  while (at < bytes.length) {
    if (at + HEADER_LENGTH > bytes.length) throw new InputError(label, `truncated ar archive: a member header at byte ${at} is cut short`);
    const header = bytes.subarray(at, at + HEADER_LENGTH).toString('latin1');
    if (header.slice(58, 60) !== '`\n') throw new InputError(label, `damaged ar archive: no header terminator at byte ${at + 58}`);
    const name = header.slice(0, 16).trimEnd().replace(/\/$/, '');
    const sizeField = header.slice(48, 58).trimEnd();
    if (!/^\d+$/.test(sizeField)) throw new InputError(label, `damaged ar archive: member ${JSON.stringify(name)} has size ${JSON.stringify(sizeField)}`);
    const size = Number(sizeField);
    const start = at + HEADER_LENGTH;
    if (start + size > bytes.length) {
      throw new InputError(label, `truncated ar archive: member ${JSON.stringify(name)} needs ${size} bytes, ${bytes.length - start} remain`);
    }
    members.push({ name, data: bytes.subarray(start, start + size) });
    at = start + size + (size % 2);
  }
  return members;
}
