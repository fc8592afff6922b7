import { InputError } from '../../core/errors.js';
import { ExpansionRefused, KEEP_HEAD_BYTES, vendorPathProblem, type ArchiveFile, type TreeLink } from '../../core/untrusted-tar.js';
import type { ShippedLimits } from '../shipped-limits.js';

/**
 * The regular files of an RPM payload: a cpio archive in the "new ASCII" format (`070701`,
 * what rpm writes, or `070702`, with a checksum rpm ignores; the `07070X` form rpm uses for
 * files past 4 GiB is refused, naming it), read as it is
 * inflated. Each header is 110 bytes of which 13 fields are 8 hex digits (ino, mode, uid,
 * gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check),
 * then the name (NUL-terminated) padded to 4 bytes, then the data padded to 4; the archive ends
 * with `TRAILER!!!`. Names are rpm's `./usr/bin/x`; one with `..`, or absolute, is refused.
 * Symbolic links, directories and devices are passed over: nothing is extracted, nothing
 * followed. A hard link's every name is read with the bytes its last name carries. Only the files
 * `keep` wants stay in memory. An RPM's payload is read as rpm reads it (`installs`): rpm takes
 * only each entry's name and size from the cpio header, and installs it as its own header lists
 * it (type, hard links, a symbolic link's target). Written by hand: the npm cpio readers
 * are unmaintained and none caps what it reads.
 */
export async function readCpio(
  chunks: AsyncIterable<Buffer>,
  options: Pick<ShippedLimits, 'maxBytes' | 'maxEntries' | 'maxKeptFileBytes'> & {
    label: string;
    maxBytesReason?: string;
    /** Cap on the bytes of every kept file together (all are held at once), and why. */
    maxKeptBytes?: number;
    maxKeptBytesReason?: string;
    keep: (path: string, head: Buffer) => boolean;
    /** Each symbolic link, by path, with its target: recorded, never followed. */
    onSymlink?: (link: TreeLink) => void;
    /**
     * The files the package's header lists, by path (`usr/bin/x`): what each entry is installed
     * as, whatever its cpio header says; an entry it does not list is refused, as rpm refuses it.
     */
    installs?: ReadonlyMap<string, { mode: number; links: readonly string[]; linkTo: string }>;
  },
): Promise<ArchiveFile[]> {
  const { label } = options;
  const input = new ChunkReader(chunks[Symbol.asyncIterator](), label);
  const files: ArchiveFile[] = [];
  // The bytes of the kept files, all held at once.
  let kept = 0;
  // The earlier names of each hard link not yet given its bytes, by device and inode.
  const linkedNames = new Map<string, string[]>();
  // The hard links (of an RPM's header) whose bytes were read: a name of one after them is a new file.
  const finished = new Set<string>();
  for (let entries = 0; ; entries++) {
    if (entries > options.maxEntries) throw new InputError(label, `the payload holds more than ${options.maxEntries} entries`);
    const header = (await input.take(110)).toString('latin1');
    const magic = header.slice(0, 6);
    if (magic === STRIPPED_MAGIC) {
      throw new InputError(
        label,
        `the payload is in rpm's stripped cpio format (${STRIPPED_MAGIC}, which rpmbuild writes for a package holding a file of 4 GiB or more: each file's name and size are in the RPM header), which stowage does not read`,
      );
    }
    // rpm reads the newc format with or without its checksum (070702), and ignores the checksum.
    if (magic !== '070701' && magic !== '070702') throw new InputError(label, `damaged payload: cpio header magic ${JSON.stringify(magic)} (expected 070701) at byte ${input.offset - 110}`);
    const field = (i: number): number => {
      const hex = header.slice(6 + i * 8, 14 + i * 8);
      if (!/^[0-9A-Fa-f]{8}$/.test(hex)) throw new InputError(label, `damaged payload: cpio header field ${JSON.stringify(hex)} at byte ${input.offset - 110}`);
      return parseInt(hex, 16);
    };
    const mode = field(1);
    const nlink = field(4);
    const size = field(6);
    const nameSize = field(11);
    if (nameSize === 0 || nameSize > 4096) throw new InputError(label, `damaged payload: a cpio name of ${nameSize} bytes`);
    const rawName = await input.take(nameSize);
    await input.skip(pad4(110 + nameSize));
    const name = rawName.toString('utf8', 0, nameSize - 1);
    if (name === 'TRAILER!!!') {
      // The rest (padding) is inflated too: a damaged or truncated compressed stream fails here.
      await input.drain();
      return files;
    }
    if (input.offset + size > options.maxBytes) {
      throw new ExpansionRefused(`the payload expands past ${options.maxBytes} bytes${options.maxBytesReason === undefined ? '' : ` (${options.maxBytesReason})`}`, label);
    }
    const path = name.replace(/^\.?\/+/, '');
    const listed = options.installs?.get(path);
    if (options.installs !== undefined && listed === undefined) {
      throw new InputError(label, `payload entry ${JSON.stringify(name)} is not among the files the RPM header lists: rpm refuses to install the package`);
    }
    const type = (listed?.mode ?? mode) & 0o170000;
    const isLink = type === 0o120000;
    if (type !== 0o100000 && !(isLink && options.onSymlink)) {
      await input.skip(size + pad4(size));
      continue;
    }
    const problem = vendorPathProblem(path);
    if (problem) throw new InputError(label, `payload entry ${JSON.stringify(name)}: ${problem}`);
    if (isLink) {
      // rpm links to the header's target, whatever bytes the entry carries.
      if (listed !== undefined) await input.skip(size + pad4(size));
      else if (size === 0 || size > 4096) throw new InputError(label, `damaged payload: symbolic link ${JSON.stringify(name)} with a target of ${size} bytes`);
      const target = listed !== undefined ? listed.linkTo : (await input.take(size)).toString('utf8');
      if (listed === undefined) await input.skip(pad4(size));
      if (target === '' || target.includes('\0')) throw new InputError(label, `damaged payload: symbolic link ${JSON.stringify(name)}: its target ${target === '' ? 'is empty' : 'holds a NUL'}`);
      options.onSymlink?.({ path, target });
      continue;
    }
    // A hard link's names come one after the other, the bytes with the last one only (what rpm
    // writes, and cpio's newc format): the earlier names wait for them. In an RPM the header says
    // which names are one file, and which of them carries its bytes (the last it lists): rpm
    // passes over what the others carry, and gives a name after that one a new, empty file.
    if (listed !== undefined && listed.links.length > 1) {
      const key = listed.links[listed.links.length - 1] as string;
      if (path !== key) {
        if (!finished.has(key)) linkedNames.set(key, [...(linkedNames.get(key) ?? []), path]);
        await input.skip(size + pad4(size));
        continue;
      }
      finished.add(key);
    }
    const linkKey = listed !== undefined ? (listed.links.length > 1 ? path : null) : nlink > 1 ? `${field(7)}:${field(8)}:${field(0)}` : null;
    const earlier = linkKey === null ? [] : (linkedNames.get(linkKey) ?? []);
    if (listed === undefined && linkKey !== null && size === 0) {
      // An empty file's names all carry nothing: the last one ends the wait.
      if (earlier.length + 1 >= nlink) linkedNames.delete(linkKey);
      else linkedNames.set(linkKey, [...earlier, path]);
      continue;
    }
    if (linkKey !== null) linkedNames.delete(linkKey);
    // Decided on the head, so a file that is not kept is skipped as it is inflated, never held.
    const head = await input.take(Math.min(size, KEEP_HEAD_BYTES));
    const names = [...earlier, path].filter((p) => options.keep(p, head));
    if (names.length === 0) {
      await input.skip(size - head.length + pad4(size));
      continue;
    }
    if (size > options.maxKeptFileBytes) throw new InputError(label, `payload entry ${JSON.stringify(name)}: a file read whole (a binary) larger than ${options.maxKeptFileBytes} bytes`);
    if (kept + size > (options.maxKeptBytes ?? Infinity)) {
      const why = options.maxKeptBytesReason === undefined ? '' : ` (${options.maxKeptBytesReason})`;
      throw new ExpansionRefused(`payload entry ${JSON.stringify(name)}: the files read whole (binaries) come to more than ${options.maxKeptBytes} bytes${why}: refused, as a decompression bomb would be`, label);
    }
    kept += size;
    const data = size === head.length ? head : Buffer.concat([head, await input.take(size - head.length)]);
    await input.skip(pad4(size));
    for (const keptPath of names) files.push({ path: keptPath, mode: ((listed?.mode ?? mode) & 0o111) !== 0 ? 0o755 : 0o644, data });
  }
}

/** rpm's own cpio variant (rpm 4.12 and later, lib/cpio.c): a header of the magic and a file index, nothing else. */
const STRIPPED_MAGIC = '07070X';

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Exact reads over a stream of chunks, failing on a stream that ends early. */
class ChunkReader {
  private buffered: Buffer[] = [];
  private available = 0;
  offset = 0;

  constructor(
    private readonly source: AsyncIterator<Buffer>,
    private readonly label: string,
  ) {}

  async take(n: number): Promise<Buffer> {
    while (this.available < n) {
      const next = await this.source.next();
      if (next.done) throw new InputError(this.label, `truncated payload: the cpio archive ends at byte ${this.offset + this.available}, inside an entry`);
      this.buffered.push(next.value);
      this.available += next.value.length;
    }
    const all = this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.available = rest.length;
    this.offset += n;
    return out;
  }

  async drain(): Promise<void> {
    for (let next = await this.source.next(); !next.done; next = await this.source.next());
  }

  /** Passes over `n` bytes chunk by chunk, holding none of them. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.available === 0) {
        const next = await this.source.next();
        if (next.done) throw new InputError(this.label, `truncated payload: the cpio archive ends at byte ${this.offset}, inside an entry`);
        this.buffered = [next.value];
        this.available = next.value.length;
      }
      const first = this.buffered[0] as Buffer;
      const step = Math.min(left, first.length);
      if (step === first.length) this.buffered.shift();
      else this.buffered[0] = first.subarray(step);
      this.available -= step;
      this.offset += step;
      left -= step;
    }
  }
}
