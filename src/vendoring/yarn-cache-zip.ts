import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { readNpmTarball } from '../inputs/vendor-layout.js';
import { valid } from '../core/semver.js';

/*
 * The zip yarn berry (yarn 4, `compressionLevel: 0`, cache keys `…c0`) keeps in its cache for an
 * npm package, byte for byte, since the lockfile's `checksum` is the sha512 of exactly that file
 * and yarn refuses a cache entry that does not match it. Written by hand: yarn makes these zips
 * with libzip (compiled to WebAssembly) through its ZipFS, and no zip library writes the same
 * bytes. What yarn 4 writes (tgzUtils.convertToZip, extractArchiveTo, ZipFS on libzip), checked
 * against the zips yarn 4.9 writes for real registry packages:
 *
 * - the tarball's entries in archive order, the top directory stripped, under
 *   `node_modules/<name>/`; each missing parent directory is an entry of its own, made just
 *   before the first entry under it (mkdirp); an explicit directory entry is made where it
 *   stands; a path written twice keeps its first place and its last bytes (libzip replaces in
 *   place);
 * - every entry stored (method 0), DOS time 1984-06-22 21:50:00 (yarn's SAFE_TIME, 456789000,
 *   in libzip's UTC), no extra fields, no data descriptors, no comment;
 * - version made by 63 on UNIX (0x033f); version needed 20 for directories, 10 for files;
 *   external attributes `(S_IFDIR|0755) << 16` for directories, `(S_IFREG|0644 or 0755) << 16`
 *   for files (0755 when any execute bit is set in the tarball).
 *
 * A difference anywhere shows as a checksum the lockfile does not hold: vendoring then stops
 * naming the package, it never ships a zip yarn would refuse.
 */

const DOS_TIME = (21 << 11) | (50 << 5);
const DOS_DATE = ((1984 - 1980) << 9) | (6 << 5) | 22;
const MADE_BY_UNIX_63 = (3 << 8) | 63;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** General purpose flag bit 11: the name is UTF-8 (libzip sets it for names that are not ASCII). */
const UTF8_NAME = 1 << 11;

interface ZipEntry {
  name: string;
  directory: boolean;
  mode: number;
  data: Buffer;
}

/** yarn's cache zip of the npm tarball of `name` (`@scope/name` or `name`). */
export async function yarnCacheZip(tarball: Buffer, name: string, label: string): Promise<Buffer> {
  const prefix = `node_modules/${name}`;
  const order: Array<{ kind: 'file' | 'directory'; path: string }> = [];
  const files = await readNpmTarball(tarball, label, (entry) => order.push(entry));
  const content = new Map(files.map((f) => [f.path, f]));

  const entries: ZipEntry[] = [];
  const made = new Set<string>();
  const mkdirp = (dir: string): void => {
    const segments = dir.split('/');
    for (let i = 1; i <= segments.length; i++) {
      const path = segments.slice(0, i).join('/');
      if (made.has(path)) continue;
      made.add(path);
      entries.push({ name: `${path}/`, directory: true, mode: 0o755, data: Buffer.alloc(0) });
    }
  };
  mkdirp(prefix);
  for (const entry of order) {
    const path = `${prefix}/${entry.path}`;
    mkdirp(path.slice(0, path.lastIndexOf('/')));
    if (made.has(path)) continue;
    made.add(path);
    if (entry.kind === 'directory') {
      entries.push({ name: `${path}/`, directory: true, mode: 0o755, data: Buffer.alloc(0) });
    } else {
      const file = content.get(entry.path);
      if (file !== undefined) entries.push({ name: path, directory: false, mode: file.mode, data: file.data });
    }
  }
  return writeStoredZip(entries);
}

function writeStoredZip(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    // ASCII exactly when every character is one byte.
    const flags = name.length === entry.name.length ? 0 : UTF8_NAME;
    const needed = entry.directory ? 20 : 10;
    const crc = entry.data.length === 0 ? 0 : crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(needed, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, entry.data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX_63, 4);
    central.writeUInt16LE(needed, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(entry.data.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra length, comment length, disk number start, internal attributes: all 0.
    central.writeUInt32LE((((entry.directory ? S_IFDIR : S_IFREG) | entry.mode) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + entry.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * yarn's hash (hashUtils.makeHash): the sha512 hex of its arguments concatenated, a missing
 * (null) one left out.
 */
function makeHash(...parts: Array<string | null>): string {
  return createHash('sha512').update(parts.filter((p) => p !== null).join('')).digest('hex');
}

/**
 * The file name of a package's zip in a project's own cache (`enableGlobalCache: false`, as the
 * vendored `.yarnrc.yml` sets): yarn's slugifyLocator, then the first 10 hex digits of the
 * lockfile checksum (Cache.getChecksumFilename). `reference` is the locator's (`npm:1.2.3`).
 */
export function yarnCacheFileName(name: string, reference: string, checksumHex: string): string {
  const scope = name.startsWith('@') ? name.slice(1, name.indexOf('/')) : null;
  const bare = scope === null ? name : name.slice(name.indexOf('/') + 1);
  const locatorHash = makeHash(makeHash(scope, bare), reference);
  const colon = reference.indexOf(':');
  const protocol = colon > 0 ? reference.slice(0, colon) : 'exotic';
  const selector = colon > 0 ? reference.slice(colon + 1) : reference;
  const version = valid(selector);
  const slug = `${scope === null ? bare : `@${scope}-${bare}`}-${version === null ? protocol : `${protocol}-${version}`}-${locatorHash.slice(0, 10)}`;
  return `${slug}-${checksumHex.slice(0, 10)}.zip`;
}
