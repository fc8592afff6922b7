import { InputError } from '../../core/errors.js';

/**
 * An RPM file's lead and headers (the RPM file format, rpm.org's "RPM v4 package format"):
 *
 * - the lead: 96 bytes, magic `ed ab ee db`, then the package type (0 binary, 1 source);
 * - the signature header, padded to a multiple of 8 bytes, then the main header. A header is
 *   a magic `8e ad e8 01`, 4 reserved bytes, the number of index entries and the size of the
 *   data store (both big-endian), the 16-byte entries (tag, type, offset, count) and the store;
 * - the payload: a cpio archive compressed as the PAYLOADCOMPRESSOR tag says.
 *
 * Every offset and count is checked against the bytes there are. Written by hand: the npm
 * readers of RPM headers are unmaintained or read only a few tags without bounds checks.
 */
export interface RpmFile {
  kind: 'binary' | 'source';
  name: string;
  version: string;
  release: string;
  /** Provides: name, the version of an `= VERSION` provide (else null), and the relation of a ranged one (`>= 1.2`). */
  provides: { name: string; version: string | null; range?: string }[];
  payloadFormat: string;
  payloadCompressor: string;
  /**
   * The files the header lists, by path without its leading `/` (`usr/bin/x`): what rpm installs
   * each payload entry as (rpm 4.12 and later read only a cpio entry's name and size; its type
   * and hard links come from here).
   */
  files: Map<string, RpmHeaderFile>;
  /** The compressed payload, a view into the file's bytes. */
  payload: Buffer;
}

/** A file as the header lists it: its mode, and the paths of its hard-link set (header order; the last carries the bytes), empty for none. */
export interface RpmHeaderFile {
  mode: number;
  links: string[];
  /** A symbolic link's target (FILELINKTOS), which rpm links to whatever the payload entry holds; '' for any other file. */
  linkTo: string;
}

const LEAD_LENGTH = 96;
const HEADER_MAGIC = 0x8eade801;
/** rpm's own limits on a header (lib/header.c: hdrchkTags, hdrchkData). */
const MAX_INDEX_ENTRIES = 0x0000ffff;
const MAX_STORE_BYTES = 256 * 1024 * 1024;

const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  SOURCERPM: 1044,
  OLDFILENAMES: 1027,
  FILEMODES: 1030,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  FILEDEVICES: 1095,
  FILEINODES: 1096,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PROVIDENAME: 1047,
  PROVIDEFLAGS: 1112,
  PROVIDEVERSION: 1113,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
} as const;

const TYPE = { INT16: 3, INT32: 4, STRING: 6, STRING_ARRAY: 8, I18NSTRING: 9 } as const;
/** RPMSENSE_LESS, RPMSENSE_GREATER, RPMSENSE_EQUAL: a provide's relation to its version. */
const SENSE_LESS = 0x02;
const SENSE_GREATER = 0x04;
const SENSE_EQUAL = 0x08;
const SENSE_RELATION = SENSE_LESS | SENSE_GREATER | SENSE_EQUAL;

/**
 * A provide as its flags relate it to its version: exactly `= VERSION` names that version; a
 * range (`>= 1.2`, which rpmbuild accepts as readily) names none, and is kept apart.
 */
function provideOf(name: string, version: string | undefined, flags: number): { name: string; version: string | null; range?: string } {
  const relation = flags & SENSE_RELATION;
  if (!version || relation === 0) return { name, version: null };
  if (relation === SENSE_EQUAL) return { name, version };
  const op = `${relation & SENSE_LESS ? '<' : ''}${relation & SENSE_GREATER ? '>' : ''}${relation & SENSE_EQUAL ? '=' : ''}`;
  return { name, version: null, range: `${op} ${version}` };
}

interface HeaderEntry {
  type: number;
  offset: number;
  count: number;
}

/** One header: its entries by tag, and its data store. */
class RpmHeader {
  constructor(
    private readonly entries: Map<number, HeaderEntry>,
    private readonly store: Buffer,
    private readonly label: string,
  ) {}

  has(tag: number): boolean {
    return this.entries.has(tag);
  }

  strings(tag: number): string[] | null {
    const entry = this.entries.get(tag);
    if (!entry) return null;
    if (entry.type !== TYPE.STRING && entry.type !== TYPE.STRING_ARRAY && entry.type !== TYPE.I18NSTRING) this.bad(tag, `type ${entry.type} is not a string`);
    const values: string[] = [];
    let at = entry.offset;
    for (let i = 0; i < entry.count; i++) {
      const end = this.store.indexOf(0, at);
      if (end < 0) this.bad(tag, 'a string runs past the header');
      values.push(this.store.toString('utf8', at, end));
      at = end + 1;
    }
    return values;
  }

  string(tag: number): string | null {
    return this.strings(tag)?.[0] ?? null;
  }

  int32s(tag: number): number[] | null {
    return this.integers(tag, TYPE.INT32);
  }

  int16s(tag: number): number[] | null {
    return this.integers(tag, TYPE.INT16);
  }

  private integers(tag: number, type: typeof TYPE.INT16 | typeof TYPE.INT32): number[] | null {
    const entry = this.entries.get(tag);
    if (!entry) return null;
    const width = type === TYPE.INT32 ? 4 : 2;
    if (entry.type !== type) this.bad(tag, `type ${entry.type} is not INT${width * 8}`);
    if (entry.offset % width !== 0 || entry.offset + entry.count * width > this.store.length) this.bad(tag, 'its values lie outside the header');
    return Array.from({ length: entry.count }, (_, i) => (width === 4 ? this.store.readUInt32BE(entry.offset + i * 4) : this.store.readUInt16BE(entry.offset + i * 2)));
  }

  private bad(tag: number, why: string): never {
    throw new InputError(this.label, `damaged RPM header: tag ${tag}: ${why}`);
  }
}

export function readRpmFile(bytes: Buffer, label: string): RpmFile {
  if (bytes.length < LEAD_LENGTH) throw new InputError(label, `truncated RPM: ${bytes.length} bytes, shorter than its ${LEAD_LENGTH}-byte lead`);
  if (bytes.readUInt32BE(0) !== 0xedabeedb) throw new InputError(label, 'not an RPM (no lead magic)');
  if (bytes[4] !== 3 && bytes[4] !== 4) throw new InputError(label, `RPM lead version ${bytes[4]} is not 3 or 4`);
  const signature = readHeader(bytes, LEAD_LENGTH, 'signature header', label);
  const mainAt = signature.end + ((8 - (signature.end % 8)) % 8);
  const main = readHeader(bytes, mainAt, 'header', label);
  const header = main.header;
  const required = (tag: number, what: string): string => {
    const value = header.string(tag);
    if (value === null) throw new InputError(label, `RPM header has no ${what}`);
    return value;
  };
  const names = header.strings(TAG.PROVIDENAME) ?? [];
  const versions = header.strings(TAG.PROVIDEVERSION) ?? [];
  const flags = header.int32s(TAG.PROVIDEFLAGS) ?? [];
  if (versions.length !== names.length || flags.length !== names.length) {
    throw new InputError(label, `damaged RPM header: ${names.length} provides with ${versions.length} versions and ${flags.length} flags`);
  }
  return {
    // A source package has no SOURCERPM tag: rpm's own test (headerIsSource). The lead's type
    // is not covered by the package's digests and rpm does not read it: a binary package whose
    // lead says source installs its files (rpm -i), and is read for them here too.
    kind: header.has(TAG.SOURCERPM) ? 'binary' : 'source',
    name: required(TAG.NAME, 'NAME'),
    version: required(TAG.VERSION, 'VERSION'),
    release: required(TAG.RELEASE, 'RELEASE'),
    provides: names.map((name, i) => provideOf(name, versions[i], flags[i] ?? 0)),
    payloadFormat: header.string(TAG.PAYLOADFORMAT) ?? 'cpio',
    // rpm reads a package without the tag as gzip.
    payloadCompressor: header.string(TAG.PAYLOADCOMPRESSOR) ?? 'gzip',
    files: headerFiles(header, label),
    payload: bytes.subarray(main.end),
  };
}

/** RPMFILE_GHOST: a file the package owns but does not ship (no payload entry, no hard link). */
const FILE_GHOST = 0x40;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * The header's file list (BASENAMES, DIRNAMES and DIRINDEXES, or an old package's
 * OLDFILENAMES), with each file's mode and hard links as rpm builds them (rpmfilesBuildNLink):
 * regular files, not ghosts, with a non-zero inode, grouped by device and inode.
 */
function headerFiles(header: RpmHeader, label: string): Map<string, RpmHeaderFile> {
  const bad = (why: string): never => {
    throw new InputError(label, `damaged RPM header: ${why}`);
  };
  const basenames = header.strings(TAG.BASENAMES);
  let paths: string[];
  if (basenames !== null) {
    const dirnames = header.strings(TAG.DIRNAMES) ?? [];
    const indexes = header.int32s(TAG.DIRINDEXES) ?? [];
    if (indexes.length !== basenames.length) bad(`${basenames.length} file names with ${indexes.length} directory indexes`);
    paths = basenames.map((base, i) => {
      const dir = dirnames[indexes[i] as number];
      if (dir === undefined) return bad(`file ${JSON.stringify(base)} names directory ${indexes[i] as number} of ${dirnames.length}`);
      return dir + base;
    });
  } else paths = header.strings(TAG.OLDFILENAMES) ?? [];
  const count = paths.length;
  const modes = header.int16s(TAG.FILEMODES) ?? [];
  const flags = header.int32s(TAG.FILEFLAGS) ?? Array<number>(count).fill(0);
  const inodes = header.int32s(TAG.FILEINODES) ?? Array<number>(count).fill(0);
  const devices = header.int32s(TAG.FILEDEVICES) ?? Array<number>(count).fill(0);
  const linkTos = header.strings(TAG.FILELINKTOS) ?? Array<string>(count).fill('');
  if (modes.length !== count || flags.length !== count || inodes.length !== count || devices.length !== count || linkTos.length !== count) {
    bad(`${count} files with ${modes.length} modes, ${flags.length} flags, ${inodes.length} inodes, ${devices.length} devices and ${linkTos.length} link targets`);
  }
  const files = new Map<string, RpmHeaderFile>();
  const sets = new Map<string, string[]>();
  paths.forEach((full, i) => {
    const path = full.replace(/^\/+/, '');
    // Two entries for one path: which of them rpm installs a payload entry as depends on its lookup.
    if (files.has(path)) bad(`file ${JSON.stringify(full)} is listed twice`);
    const mode = modes[i] as number;
    const file: RpmHeaderFile = { mode, links: [], linkTo: linkTos[i] as string };
    files.set(path, file);
    if ((mode & S_IFMT) !== S_IFREG || ((flags[i] as number) & FILE_GHOST) !== 0 || inodes[i] === 0) return;
    const key = `${devices[i] as number}:${inodes[i] as number}`;
    let set = sets.get(key);
    if (!set) sets.set(key, (set = []));
    set.push(path);
    file.links = set;
  });
  for (const file of files.values()) if (file.links.length < 2) file.links = [];
  return files;
}

function readHeader(bytes: Buffer, at: number, what: string, label: string): { header: RpmHeader; end: number } {
  if (at + 16 > bytes.length) throw new InputError(label, `truncated RPM: the ${what} is cut short`);
  if (bytes.readUInt32BE(at) !== HEADER_MAGIC) throw new InputError(label, `damaged RPM: no ${what} magic at byte ${at}`);
  const count = bytes.readUInt32BE(at + 8);
  const storeBytes = bytes.readUInt32BE(at + 12);
  if (count > MAX_INDEX_ENTRIES || storeBytes > MAX_STORE_BYTES) throw new InputError(label, `damaged RPM: the ${what} claims ${count} entries and ${storeBytes} bytes`);
  const indexAt = at + 16;
  const storeAt = indexAt + count * 16;
  const end = storeAt + storeBytes;
  if (end > bytes.length) throw new InputError(label, `truncated RPM: the ${what} needs ${end - at} bytes, ${bytes.length - at} remain`);
  const entries = new Map<number, HeaderEntry>();
  for (let i = 0; i < count; i++) {
    const e = indexAt + i * 16;
    const entry = { type: bytes.readUInt32BE(e + 4), offset: bytes.readUInt32BE(e + 8), count: bytes.readUInt32BE(e + 12) };
    const tag = bytes.readUInt32BE(e);
    if (entry.offset >= storeBytes && entry.count > 0) throw new InputError(label, `damaged RPM: the ${what}'s tag ${tag} points past its data`);
    // rpm reads the first entry of a tag and passes over the others (rpm 4.18 installs such a
    // package, digests recomputed): a second PROVIDENAME or PAYLOADCOMPRESSOR could show this
    // reader other values than rpm's. rpmbuild never writes one.
    if (entries.has(tag)) throw new InputError(label, `damaged RPM: the ${what} holds tag ${tag} twice (rpm would read the first only)`);
    entries.set(tag, entry);
  }
  return { header: new RpmHeader(entries, bytes.subarray(storeAt, end), `${label} (${what})`), end };
}
