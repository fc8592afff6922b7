import tarStream from 'tar-stream';
import { compressionName, inflate, type Compression } from './decompress.js';
import { StowageError, errorMessage } from './errors.js';

/**
 * One regular file of an archive stowage writes or reads (a vendor archive, a source tarball). Paths are relative to the application's root,
 * `/`-separated, never absolute, never with `..`; modes are normalised to 0644 or 0755.
 * Directories are implied by the files.
 */
export interface ArchiveFile {
  path: string;
  mode: 0o644 | 0o755;
  data: Buffer;
}

/**
 * An archive that expands past its cap: refused, as bad input is, but a client may be told the
 * difference (the fleet server answers 413: the upload is too large once inflated).
 */
export class ExpansionRefused extends StowageError {}

/** The smallest cap `expansionCap` gives: a small archive of text is never refused for its ratio. */
const EXPANSION_FLOOR_BYTES = 16 * 1024 * 1024;

/**
 * The cap on what an archive of `compressedBytes` expands to: `maxBytes`, or, when its expansion
 * is capped (`maxExpansion` times its size: an upload), that, if less; never below 16 MiB.
 */
export function expansionCap(maxBytes: number, compressedBytes: number, maxExpansion: number): number {
  return Math.min(maxBytes, Math.max(EXPANSION_FLOOR_BYTES, maxExpansion * compressedBytes));
}

export interface UntrustedTarOptions {
  /** Names the archive in every message, e.g. `serde 1.0.210 (.crate)`. */
  label: string;
  compression: Compression;
  /** Cap on the file bytes the archive expands to, counted as they are inflated. */
  maxBytes: number;
  /** Why maxBytes is what it is, when the refusal should say (an upload's cap by its ratio). */
  maxBytesReason?: string;
  /** Cap on the entries (files and directories). */
  maxEntries: number;
  /**
   * Leading path segments to drop, counted as npm's tar reader (node-tar's `strip`) counts
   * them: on the name as written, split on `/`, empty and `.` segments included, so
   * `./package/x` stripped of 1 is `package/x` (npm installs it there), not `x`.
   */
  stripComponents?: number;
  /**
   * The one directory every entry must be in, named by the entry's first segment as written
   * (cargo's check that a `.crate` stays in its `name-version/`: a leading `./` or `/` is not in it).
   */
  topDirectory?: string;
  /**
   * What a second entry for a path already read means.
   * - `as-extracted`: a package's archive, read as its package manager extracts it. The last
   *   entry wins, as npm (node-tar) and cargo (tar-rs) write the file again; real npm tarballs
   *   hold `package/./x` beside `package/x`. Paths that only differ in letter case (or Unicode
   *   normalisation) must hold the same bytes: a case-insensitive filesystem (macOS, Windows)
   *   merges them, and which one it keeps depends on the order of extraction.
   * - `refuse`: an archive stowage wrote, which never holds a path twice.
   * - `replace`: a file system image (a `.deb`'s data, an image layer): the last entry wins,
   *   and letter case is not folded, as on the Linux file systems it is unpacked onto.
   */
  duplicates: 'as-extracted' | 'refuse' | 'replace';
  /**
   * Called for every file and directory entry kept (stripped path), in archive order, a
   * repeated path again: a layout that follows the archive's order (yarn's zips) replays it.
   * A hard link (readUntrustedTree) is a file entry at its own path.
   */
  onEntry?: (entry: { kind: 'file' | 'directory'; path: string }) => void;
}

/** How readUntrustedTree reads links and chooses what to keep. */
export interface UntrustedTreeOptions extends UntrustedTarOptions {
  /**
   * Whether a file's bytes are kept (true) or only counted (false): an image holds far more
   * than a reader wants in memory. Decided on the file's path and first bytes (`head`: up to
   * KEEP_HEAD_BYTES, all of a smaller file), before the rest is inflated, so a file that is
   * not kept is never held in memory, however far it expands. A hard link follows the
   * decision made for its target, except at a path kept whatever its bytes (`keep` says so of
   * it with an empty head: a package.json): it has its target's bytes even when they were not
   * kept, the archive being read a second time for them.
   */
  keep: (path: string, head: Buffer) => boolean;
  /** Cap on the size of one kept file: past it the archive is refused (a kept file is held whole). */
  maxKeptFileBytes: number;
  /** Cap on the bytes of every kept file together (all are held at once), and why it is what it is. */
  maxKeptBytes?: number;
  maxKeptBytesReason?: string;
  /** Refuse links as readUntrustedTar does (an archive stowage wrote holds none), rather than record them. */
  refuseLinks?: boolean;
  /** The cap on one kept file at `path`, when lower than maxKeptFileBytes (a manifest among tarballs). */
  keptFileCap?: (path: string) => number;
  /**
   * Hands each kept file over, in archive order, instead of holding it in the result (which then
   * lists no files): the archive reads on once it settles, so one kept file is held at a time.
   * Needs duplicates `refuse` and refuseLinks: a later entry could not replace a file handed over.
   */
  onKept?: (file: ArchiveFile) => Promise<void> | void;
}

/** How many of a file's first bytes `keep` is shown: enough for any magic number. */
export const KEEP_HEAD_BYTES = 4096;

/** npm's caps on a package tarball, wherever one is read (a vendor archive's, a `file:` one in a project). */
export const MAX_NPM_TARBALL_BYTES = 512 * 1024 * 1024;
export const MAX_NPM_TARBALL_ENTRIES = 200_000;

/** A symbolic link of a file system image: recorded, never followed. */
export interface TreeLink {
  path: string;
  target: string;
}

/** What a file system image holds: its kept files, and its symbolic links. */
export interface UntrustedTree {
  files: ArchiveFile[];
  symlinks: TreeLink[];
}

/**
 * Why `path` cannot name a file in a vendor tree, or null when it can: relative, `/`-separated,
 * no empty, `.` or `..` segment, no backslash (a separator on Windows), no drive (`C:`), no NUL.
 */
export function vendorPathProblem(path: string): string | null {
  if (path === '') return 'empty path';
  if (path.includes('\0')) return 'NUL in path';
  if (path.includes('\\')) return 'backslash in path (a separator on Windows)';
  if (path.startsWith('/')) return 'absolute path';
  const segments = path.split('/');
  if (/^[A-Za-z]:/.test(segments[0] ?? '')) return 'absolute path (Windows drive)';
  if (segments.includes('..')) return '`..` in path';
  if (segments.some((s) => s === '' || s === '.')) return 'empty or `.` segment in path';
  return null;
}

/** Headers, padding and pax records per entry that may pass through besides file data. */
const METADATA_ALLOWANCE_PER_ENTRY = 3 * 1024;
const METADATA_ALLOWANCE = 1024 * 1024;

/**
 * tar-stream also sets the offset of an entry's data in the tar stream, and a type of null
 * for typeflags it does not know; its types omit both.
 */
type ParsedHeader = Omit<tarStream.Header, 'type'> & { type: tarStream.Header['type'] | null; byteOffset?: number };

/**
 * Reads the regular files of an untrusted tar archive (a `.crate`, an npm tarball, a vendor
 * archive handed to `vendor verify`) into memory. Nothing touches the disk, and everything
 * that could matter on extraction is refused rather than repaired, with a StowageError naming
 * the archive and the entry:
 *
 * - paths with `..`, absolute or Windows drive paths, backslashes: before and after stripping;
 * - symbolic and hard links: a vendored tree needs none, and resolving one safely means
 *   reasoning about the tree it would land in; refusing is simpler and cannot be wrong;
 * - devices, FIFOs and entry types we do not know;
 * - a path that is both a file and a directory (npm keeps whichever comes first with a warning,
 *   cargo fails), duplicates unless `as-extracted`, and case-only variants with other bytes;
 * - more than `maxEntries` entries, or more than `maxBytes` of file data: counted on the
 *   inflated bytes, never on header claims, and the archive is inflated as it is parsed, so a
 *   compression bomb stops at the cap without being buffered;
 * - a truncated or corrupt archive, including one cut exactly at an entry boundary (the
 *   end-of-archive zero block must be there);
 * - an entry after the end-of-archive block: the archive ends at its first zero block (see
 *   watchEndOfArchive), so a second archive appended to a `.crate` or a vendor archive is
 *   refused, never read over the first.
 *
 * Pax headers and GNU long names are applied (tar-stream). Empty and `.` segments are dropped
 * (`package//x` and `package/./x` are `package/x`, to node-tar and tar-rs alike). Directory
 * entries are dropped (directories are implied by files); entries left with no path after
 * stripping are dropped, as tar and npm do. Modes are normalised: 0755 if any execute bit is
 * set, else 0644. Files come in the order of their first entry.
 */
export async function readUntrustedTar(bytes: Buffer, options: UntrustedTarOptions): Promise<ArchiveFile[]> {
  return (await readTar(bytes, options, null)).files;
}

/**
 * Reads a file system image (a `.deb`'s data.tar, an image layer, an image archive) as
 * readUntrustedTar does, with its links: a symbolic link is recorded and never followed, and
 * refused when its target leaves the tree (a relative target climbing above the root; an
 * absolute one names a path inside the image); a hard link must name a file read before it
 * in the same archive, whose bytes it shares. Files `keep` declines are counted, not kept.
 */
export async function readUntrustedTree(bytes: Buffer, options: UntrustedTreeOptions): Promise<UntrustedTree> {
  if (options.onKept !== undefined && (options.duplicates !== 'refuse' || options.refuseLinks !== true)) {
    throw new Error('readUntrustedTree: onKept needs duplicates "refuse" and refuseLinks');
  }
  const links = options.refuseLinks !== true;
  const missed = new Set<string>();
  const first = await readTar(bytes, options, options.keep, options.maxKeptFileBytes, links, options, missed);
  if (missed.size === 0) return first;
  // A hard link at a path kept by its name (a package.json) to a file that was not kept: dpkg
  // and container runtimes install the link with the file's bytes, so the archive is read again,
  // keeping those files too, for each link to have its bytes. They are dropped afterwards unless
  // `keep` wants them where they are.
  const { onEntry: _reported, ...again } = options;
  const keepLinked = (path: string, head: Buffer): boolean => missed.has(path) || options.keep(path, head);
  const second = await readTar(bytes, again, keepLinked, options.maxKeptFileBytes, links, options);
  return { files: second.files.filter((f) => !missed.has(f.path) || options.keep(f.path, f.data.subarray(0, KEEP_HEAD_BYTES))), symlinks: second.symlinks };
}

async function readTar(
  bytes: Buffer,
  options: UntrustedTarOptions,
  keep: UntrustedTreeOptions['keep'] | null,
  maxKeptFileBytes = Infinity,
  links = keep !== null,
  handing: Pick<UntrustedTreeOptions, 'onKept' | 'keptFileCap' | 'maxKeptBytes' | 'maxKeptBytesReason'> = {},
  /** Filled with the files whose bytes a hard link needs at a path `keep` wants by its name alone, when they were not kept. */
  missed?: Set<string>,
): Promise<UntrustedTree> {
  const { label, maxBytes, maxEntries } = options;
  const strip = options.stripComponents ?? 0;
  const streamCap = maxBytes + maxEntries * METADATA_ALLOWANCE_PER_ENTRY + METADATA_ALLOWANCE;

  return new Promise<UntrustedTree>((resolve, reject) => {
    const extract = tarStream.extract();
    // An archive ends at its first zero block, for whoever unpacks it (see watchEndOfArchive).
    let endOfArchive: number | null = null;
    watchEndOfArchive(extract, (offset) => {
      endOfArchive ??= offset;
    });
    refuseGlobalPaxLayout(extract, label);
    // An entry named twice over, by a GNU long name and a pax record (see watchNamedTwice).
    let namedTwice: string | null = null;
    watchNamedTwice(extract, (what) => {
      namedTwice = what;
    });
    // A header whose name prefix only some readers apply (see prefixOnlySomeApply).
    let prefixInDoubt = false;
    watchHeaderBlocks(extract, (block) => {
      prefixInDoubt ||= prefixOnlySomeApply(block);
    });
    const files: ArchiveFile[] = [];
    // By path: a later entry at the same path replaces a link, as extracting it would.
    const symlinks = new Map<string, string>();
    // Every regular file read, kept or not: what a hard link may name.
    const regular = new Set<string>();
    // The regular entry whose bytes each hard link has (a link to a link leads to it).
    const origin = new Map<string, string>();
    // Where each file is in `files`.
    const fileAt = new Map<string, number>();
    // Every path so far: a file, or a directory (explicit or implied by a path under it).
    const paths: PathKinds = new Map();
    let entries = 0;
    let fileBytes = 0;
    // The bytes of the kept files held so far (a hard link shares its target's).
    let keptBytes = 0;
    const maxKeptBytes = handing.maxKeptBytes ?? Infinity;
    let inflated = 0;
    let lastEntryEnd = 0;
    let lastEntry: string | null = null;
    // The last 512 inflated bytes: an intact archive ends in at least one zero block.
    let tail: Buffer = Buffer.alloc(0);
    let settled = false;

    // A later entry that is not a kept file drops the earlier file at its path.
    const removeFile = (path: string): void => {
      symlinks.delete(path);
      const at = fileAt.get(path);
      if (at === undefined) return;
      fileAt.delete(path);
      files[at] = { ...(files[at] as ArchiveFile), path: '' };
    };
    const where = (): string => (lastEntry === null ? 'before the first entry' : `after entry ${quote(lastEntry)}`);
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      extract.destroy();
      if (err instanceof StowageError) return reject(err);
      const reason = errorMessage(err);
      // tar-stream's words for an archive that stops inside an entry.
      if (reason === 'Unexpected end of data') return reject(new StowageError(`truncated archive ${where()}`, label));
      reject(new StowageError(`damaged archive ${where()}: ${reason}`, label));
    };
    const refuse: Refuse = (name, why) => new StowageError(`entry ${quote(name)}: ${why}`, label);

    extract.on('entry', (parsed, stream, next) => {
      const header = parsed as ParsedHeader;
      const name = header.name;
      let entry: AdmittedEntry;
      try {
        entries++;
        if (endOfArchive !== null) {
          throw refuse(name, `after the end-of-archive block at byte ${endOfArchive}: tar, cargo, dpkg and container runtimes stop reading there, so it is never unpacked`);
        }
        if (namedTwice !== null) {
          throw refuse(name, `its ${namedTwice} is given both by a GNU long-name entry and a pax header: tar-rs (cargo) takes the first, npm's and Go's readers the later or the pax one, so where it lands cannot be told`);
        }
        if (prefixInDoubt) {
          throw refuse(name, 'a header with the ustar magic but not its version "00" and a name prefix: tar-rs (cargo) and node-tar (npm) leave the prefix out, tar-stream puts it in, so where it lands cannot be told');
        }
        if (entries > maxEntries) throw refuse(name, `more than ${maxEntries} entries`);
        const sparse = sparseFileName(header);
        if (sparse !== null) {
          const named = sparse === '' ? '' : `, for ${quote(sparse)}`;
          throw refuse(name, `a sparse file (pax GNU.sparse records${named}): GNU tar and Go's archive/tar (docker, containerd) unpack it with its holes filled in, where stowage would read a sparse map and fragments; refused`);
        }
        entry = admitEntry(header, { strip, topDirectory: options.topDirectory, links }, refuse);
        if (entry.path !== null) {
          const kind = entry.kind === 'directory' ? 'directory' : 'file';
          placeEntry(paths, name, entry.path, kind, options.duplicates, refuse);
          // A hard link is a file where it lands (a script's second name over a binary below it).
          if (entry.kind !== 'symlink') options.onEntry?.({ kind: entry.kind === 'directory' ? 'directory' : 'file', path: entry.path });
        }
        if (entry.kind === 'hardlink' && !regular.has(entry.target)) {
          throw refuse(name, `hard link to ${quote(entry.target)}, which is no file read before it in the archive`);
        }
      } catch (err) {
        return fail(err);
      }
      lastEntry = name;
      // The extract's own 'error' handler reports a failure; the entry's copy of it is noise.
      stream.on('error', () => undefined);
      const size = header.size ?? 0;
      lastEntryEnd = (header.byteOffset ?? 0) + size + ((512 - (size % 512)) % 512);
      if (entry.kind === 'symlink' || entry.kind === 'hardlink') {
        const { path, target } = entry;
        if (entry.kind === 'symlink') {
          removeFile(path);
          symlinks.set(path, target);
          origin.delete(path);
        } else {
          const at = fileAt.get(target);
          const from = origin.get(target) ?? target;
          removeFile(path);
          if (at !== undefined) fileAt.set(path, files.push({ ...(files[at] as ArchiveFile), path }) - 1);
          // Its target was not kept, but its own path is wanted whatever its bytes (a package.json).
          else if (missed !== undefined && keep !== null && keep(path, Buffer.alloc(0))) missed.add(from);
          regular.add(path);
          origin.set(path, from);
        }
        stream.on('end', () => next());
        stream.resume();
        return;
      }
      if (entry.kind !== 'file' || entry.path === null) {
        // Dropped (a directory is kept only for the file/directory conflict check). Its data,
        // if any, is drained: it still counts towards the inflated-stream cap.
        stream.on('end', () => next());
        stream.resume();
        return;
      }
      const { path, mode } = entry;
      const chunks: Buffer[] = [];
      let held = 0;
      // Without `keep` every file is kept; with it, undecided (null) until its head is read.
      let kept: boolean | null = keep === null ? true : null;
      const decide = (): boolean => (kept ??= (keep as UntrustedTreeOptions['keep'])(path, Buffer.concat(chunks)));
      const keptCap = handing.keptFileCap === undefined ? maxKeptFileBytes : Math.min(maxKeptFileBytes, handing.keptFileCap(path));
      stream.on('data', (data: unknown) => {
        const chunk = data as Buffer;
        if (settled) return;
        fileBytes += chunk.length;
        if (fileBytes > maxBytes) {
          return fail(new ExpansionRefused(`entry ${quote(name)}: the archive expands past ${maxBytes} bytes${options.maxBytesReason === undefined ? '' : ` (${options.maxBytesReason})`}`, label));
        }
        if (kept === false) return;
        chunks.push(chunk);
        held += chunk.length;
        if (kept === null && held >= KEEP_HEAD_BYTES && !decide()) {
          chunks.length = 0;
          held = 0;
          return;
        }
        if (held > keptCap) return fail(refuse(name, `a file read whole (a binary, a manifest) larger than ${keptCap} bytes`));
        if (keptBytes + held > maxKeptBytes) {
          const why = handing.maxKeptBytesReason === undefined ? '' : ` (${handing.maxKeptBytesReason})`;
          fail(new ExpansionRefused(`entry ${quote(name)}: the files read whole (binaries, manifests) come to more than ${maxKeptBytes} bytes${why}: refused, as a decompression bomb would be`, label));
        }
      });
      stream.on('end', () => {
        if (settled) return;
        regular.add(path);
        origin.delete(path);
        if (!decide()) {
          removeFile(path);
          return next();
        }
        const file: ArchiveFile = { path, mode, data: Buffer.concat(chunks) };
        keptBytes += file.data.length;
        if (handing.onKept !== undefined) {
          // Handed over, never held here; the next entry is read once it is done with.
          Promise.resolve()
            .then(() => (handing.onKept as (f: ArchiveFile) => Promise<void> | void)(file))
            .then(() => next(), fail);
          return;
        }
        // A later entry for the same path replaces the file, as extracting it would.
        symlinks.delete(path);
        const at = fileAt.get(path);
        if (at === undefined) fileAt.set(path, files.push(file) - 1);
        else files[at] = file;
        next();
      });
    });
    extract.on('error', (err: unknown) => fail(err));
    extract.on('finish', () => {
      if (settled) return;
      if (inflated - lastEntryEnd < 512 || tail.some((b) => b !== 0)) {
        return fail(new StowageError(`truncated archive: no end-of-archive block ${where()}`, label));
      }
      if (options.duplicates === 'as-extracted') {
        const clash = caseOnlyClash(files, paths, refuse);
        if (clash) return fail(clash);
      }
      settled = true;
      resolve({ files: files.filter((f) => f.path !== ''), symlinks: [...symlinks].map(([path, target]) => ({ path, target })) });
    });

    const pump = async (): Promise<void> => {
      for await (const chunk of inflate(bytes, options.compression)) {
        if (settled) return;
        inflated += chunk.length;
        if (inflated > streamCap) {
          throw new ExpansionRefused(`the archive expands past ${streamCap} bytes of tar data ${where()}`, label);
        }
        tail = chunk.length >= 512 ? chunk.subarray(-512) : Buffer.concat([tail, chunk]).subarray(-512);
        if (!extract.write(chunk)) {
          await new Promise<void>((go) => {
            const done = (): void => {
              extract.off('drain', done);
              extract.off('close', done);
              go();
            };
            extract.on('drain', done);
            extract.on('close', done);
          });
        }
      }
      if (!settled) extract.end(null);
    };
    pump().catch((err: unknown) => fail(err instanceof StowageError ? err : new StowageError(`truncated or corrupt ${compressionName(options.compression)} data ${where()}: ${errorMessage(err)}`, label)));
  });
}

/**
 * Reports the offset of each zero block tar-stream reads where a header belongs. tar-stream
 * reads on past one as if it were not there (`tar --ignore-zeros`), but dpkg, GNU tar, Go's
 * archive/tar (docker, containerd) and tar-rs (cargo unpacking a `.crate`) end the archive at
 * the first, and node-tar (npm) at two in a row: an entry after it is never unpacked, and
 * reading it (a second `usr/bin/app` or `Cargo.toml` replacing the first, say) would audit,
 * vendor or license a file that is not what ships. tar-stream has no option for this, so its
 * header step is watched: after decoding a zero block it holds no header.
 */
function watchEndOfArchive(extract: tarStream.Extract, zeroBlockAt: (offset: number) => void): void {
  const internals = extract as unknown as { _consumeHeader?: () => boolean; _header: unknown; _offset: number };
  const consumeHeader = internals._consumeHeader;
  if (typeof consumeHeader !== 'function') throw new Error('tar-stream no longer has Extract._consumeHeader, which stowage watches for the end of an archive');
  internals._consumeHeader = function (this: typeof internals): boolean {
    const consumed = consumeHeader.call(this);
    if (consumed && this._header === null) zeroBlockAt(this._offset);
    return consumed;
  };
}

/**
 * Reports an entry whose path (or link target) both a GNU long-name entry (`L`, `K`) and a pax
 * header give: tar-rs (cargo unpacking a `.crate`) takes the GNU name, Go's archive/tar and
 * tar-stream the pax one, node-tar whichever came last. No tar writer writes both (GNU tar
 * and tar-rs write GNU names, node-tar and Go pax headers). Watched as tar-stream applies
 * them, and reported through the entry (a throw there would escape the extract).
 */
function watchNamedTwice(extract: tarStream.Extract, report: (what: 'path' | 'link target') => void): void {
  const internals = extract as unknown as { _applyLongHeaders?: () => void; _gnuLongPath: string | null; _gnuLongLinkPath: string | null; _pax: Record<string, string> | null };
  const apply = internals._applyLongHeaders;
  if (typeof apply !== 'function') throw new Error('tar-stream no longer has Extract._applyLongHeaders, which stowage watches for entries named twice');
  internals._applyLongHeaders = function (this: typeof internals): void {
    if (this._gnuLongPath && this._pax?.path) report('path');
    else if (this._gnuLongLinkPath && this._pax?.linkpath) report('link target');
    apply.call(this);
  };
}

/** Shows `onBlock` each 512-byte block tar-stream decodes as a header (a zero block included), before it does. */
function watchHeaderBlocks(extract: tarStream.Extract, onBlock: (block: Buffer) => void): void {
  const internals = extract as unknown as { _consumeHeader?: () => boolean; _buffer?: { shift?: (size: number) => Buffer | null } };
  const consumeHeader = internals._consumeHeader;
  const buffer = internals._buffer;
  const shift = buffer?.shift;
  if (typeof consumeHeader !== 'function' || buffer === undefined || typeof shift !== 'function') {
    throw new Error("tar-stream no longer has Extract._consumeHeader and _buffer.shift, which stowage watches for headers' name prefixes");
  }
  let header = false;
  buffer.shift = function (this: typeof buffer, size: number): Buffer | null {
    const taken = shift.call(this, size);
    if (header && size === 512 && taken !== null) {
      header = false;
      onBlock(taken);
    }
    return taken;
  };
  internals._consumeHeader = function (this: typeof internals): boolean {
    header = true;
    try {
      return consumeHeader.call(this);
    } finally {
      header = false;
    }
  };
}

/**
 * A header with ustar's magic (`ustar\0`) but not its version (`00`) and a name prefix: tar-rs
 * and node-tar take such a header for an old one and leave the prefix out of the path, where
 * tar-stream (which checks the magic alone) puts it in. Real writers put `00` after the magic.
 */
function prefixOnlySomeApply(block: Buffer): boolean {
  return block.toString('latin1', 257, 263) === 'ustar\0' && block.toString('latin1', 263, 265) !== '00' && block[345] !== 0;
}

/** Global pax records that change where an entry is or how long it is, on which tar readers disagree. */
const GLOBAL_PAX_LAYOUT_KEYS = ['size', 'path', 'linkpath'];

/**
 * Refuses a global pax header (typeflag `g`) that sets an entry's size, path or link target:
 * node-tar (npm) applies its `size` to every later entry, tar-rs (cargo) and Go's archive/tar
 * apply nothing of it, and tar-stream merges it only into entries with a pax header of their
 * own, so each would read other entries from the same bytes. Real archives carry none (`git
 * archive` writes a `comment` only). tar-stream decodes the header without emitting it, so its
 * decoding step is watched; an error thrown there fails the extract.
 */
function refuseGlobalPaxLayout(extract: tarStream.Extract, label: string): void {
  const internals = extract as unknown as { _decodeLongHeader?: (buf: Buffer) => void; _header: { type?: string } | null; _paxGlobal: Record<string, string> | null; _offset: number };
  const decode = internals._decodeLongHeader;
  if (typeof decode !== 'function') throw new Error('tar-stream no longer has Extract._decodeLongHeader, which stowage watches for global pax headers');
  internals._decodeLongHeader = function (this: typeof internals, buf: Buffer): void {
    decode.call(this, buf);
    if (this._header?.type !== 'pax-global-header' || this._paxGlobal === null) return;
    const keys = GLOBAL_PAX_LAYOUT_KEYS.filter((key) => key in (this._paxGlobal as Record<string, string>));
    if (keys.length === 0) return;
    throw new StowageError(
      `global pax header at byte ${this._offset} sets ${keys.join(', ')}: tar readers disagree on what it applies to (npm's applies a size to every later entry, cargo's and Go's ignore it), so what is unpacked cannot be told; refused`,
      label,
    );
  };
}

type AdmittedEntry =
  | { kind: 'file'; path: string | null; mode: 0o644 | 0o755 }
  | { kind: 'directory'; path: string | null }
  | { kind: 'symlink' | 'hardlink'; path: string; target: string };

type Refuse = (name: string, why: string) => StowageError;

/** Checks one header; a null path means stripping removed the whole path. */
function admitEntry(header: ParsedHeader, layout: { strip: number; topDirectory: string | undefined; links: boolean }, refuse: Refuse): AdmittedEntry {
  const name = header.name;
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
    case 'directory':
      break;
    case 'symlink':
    case 'link':
      if (layout.links) return admitLink(header, layout, refuse);
      if (header.type === 'link') {
        throw refuse(name, `hard link to ${quote(header.linkname ?? '')}: a vendored tree needs no links, and they are refused rather than resolved`);
      }
      throw refuse(name, `symbolic link to ${quote(header.linkname ?? '')}: a vendored tree needs no links, and they are refused rather than resolved`);
    case 'character-device':
    case 'block-device':
      throw refuse(name, `${header.type === 'character-device' ? 'character' : 'block'} device: not a regular file`);
    case 'fifo':
      throw refuse(name, 'FIFO: not a regular file');
    default:
      throw refuse(name, 'unsupported entry type');
  }
  const directory = header.type === 'directory';
  if (directory && (header.size ?? 0) !== 0) throw refuse(name, 'directory entry with data');
  if (!directory && name.endsWith('/')) throw refuse(name, 'a file entry whose name ends in "/"');
  const raw = directory ? name.replace(/\/+$/, '') : name;
  if (raw.startsWith('/')) throw refuse(name, 'absolute path');
  const written = raw.split('/');
  // Empty and `.` segments (`package/./x`, `package//x`) name the same file without them;
  // everything else vendorPathProblem refuses is refused here, before stripping too.
  const meaningful = written.filter(isMeaningfulSegment);
  if (meaningful.length === 0 && directory) return { kind: 'directory', path: null };
  const rawProblem = vendorPathProblem(meaningful.join('/'));
  if (rawProblem) throw refuse(name, rawProblem);
  const top = layout.topDirectory;
  if (top !== undefined && written[0] !== top) {
    const how = written[0] === '.' ? ' (a leading "./" is outside it, as cargo reads the path)' : '';
    throw refuse(name, `not under ${quote(`${top}/`)}, the archive's own directory${how}; refusing to unpack it`);
  }
  const kept = written.slice(layout.strip).filter(isMeaningfulSegment);
  if (kept.length === 0) {
    // npm drops a file the strip leaves no name; cargo cannot write a file where its directory is.
    if (!directory && top !== undefined) throw refuse(name, `a file where the directory ${quote(`${top}/`)} must be`);
    return directory ? { kind: 'directory', path: null } : { kind: 'file', path: null, mode: 0o644 };
  }
  const path = kept.join('/');
  const problem = vendorPathProblem(path);
  if (problem) throw refuse(name, `${problem} after stripping ${layout.strip} components`);
  if (directory) return { kind: 'directory', path };
  return { kind: 'file', path, mode: ((header.mode ?? 0) & 0o111) !== 0 ? 0o755 : 0o644 };
}

/**
 * A link of a file system image. Its own path is checked as a file's; a hard link's target is
 * a path in the archive, checked the same way; a symbolic link's target is resolved from the
 * link's directory (or the root, when absolute) and must not climb above the root.
 */
function admitLink(header: ParsedHeader, layout: { strip: number; topDirectory: string | undefined }, refuse: Refuse): AdmittedEntry {
  const name = header.name;
  const linkname = header.linkname ?? '';
  const self = admitEntry({ ...header, type: 'file', size: 0 }, { ...layout, links: false }, refuse);
  if (self.path === null) throw refuse(name, 'a link with no name');
  if (header.type === 'link') {
    const target = admitEntry({ ...header, name: linkname.replace(/^\/+/, ''), type: 'file', size: 0 }, { ...layout, links: false }, (_n, why) =>
      refuse(name, `hard link to ${quote(linkname)}: ${why}`),
    );
    if (target.path === null) throw refuse(name, `hard link to ${quote(linkname)}: no file`);
    return { kind: 'hardlink', path: self.path, target: target.path };
  }
  if (linkname === '' || linkname.includes('\0')) throw refuse(name, `symbolic link to ${quote(linkname)}: not a path`);
  const resolved = linkname.startsWith('/') ? [] : self.path.split('/').slice(0, -1);
  for (const segment of linkname.split('/')) {
    if (!isMeaningfulSegment(segment)) continue;
    if (segment !== '..') resolved.push(segment);
    else if (resolved.pop() === undefined) throw refuse(name, `symbolic link to ${quote(linkname)}: leads out of the tree`);
  }
  return { kind: 'symlink', path: self.path, target: linkname };
}

/**
 * The file a GNU sparse entry stands for, written with pax `GNU.sparse.*` records (formats 0.0,
 * 0.1 and 1.0; GNU tar writes them with `--sparse --format=posix`), or '' when the records do not
 * name it; null for any other entry. tar-stream knows none of them: it reads format 1.0's entry
 * as a file `GNUSparseFile.N/NAME` whose data starts with the sparse map, and 0.x's data as the
 * file's fragments without their holes, while the readers that unpack images expand it. (The old
 * GNU `S` type is refused as a type tar-stream does not know.)
 */
function sparseFileName(header: ParsedHeader): string | null {
  const pax = header.pax;
  if (typeof pax !== 'object' || pax === null) return null;
  const records = pax as Record<string, unknown>;
  if (!Object.keys(records).some((key) => key.startsWith('GNU.sparse.'))) return null;
  const named = records['GNU.sparse.name'];
  return typeof named === 'string' ? named : '';
}

function isMeaningfulSegment(segment: string): boolean {
  return segment !== '' && segment !== '.';
}

/** Each path read so far: what it is, and the entry that made it so. */
type PathKinds = Map<string, { kind: 'file' | 'directory'; entry: string }>;

/**
 * Records an entry's path and its parents, refusing a path that is both a file and a
 * directory (npm keeps whichever came first, with a warning; cargo fails) and, unless
 * `as-extracted`, a file that is there twice.
 */
function placeEntry(paths: PathKinds, name: string, path: string, kind: 'file' | 'directory', duplicates: UntrustedTarOptions['duplicates'], refuse: Refuse): void {
  for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
    const parent = path.slice(0, slash);
    const known = paths.get(parent);
    if (known?.kind === 'file') throw refuse(name, `${quote(parent)} is a file (entry ${quote(known.entry)}) and a directory`);
    if (!known) paths.set(parent, { kind: 'directory', entry: name });
  }
  const known = paths.get(path);
  if (known && known.kind !== kind) {
    throw refuse(name, `${quote(path)} is a ${known.kind} (entry ${quote(known.entry)}) and a ${kind}`);
  }
  if (known?.kind === 'file' && duplicates === 'refuse') {
    throw refuse(name, `the archive holds ${quote(path)} twice (also as entry ${quote(known.entry)})`);
  }
  paths.set(path, { kind, entry: known?.kind === 'directory' ? known.entry : name });
}

/**
 * Two files whose paths a case-insensitive filesystem takes for one (letter case, Unicode
 * normalisation) and whose bytes differ: there, the one installed depends on the order of
 * extraction, so nothing read here can stand for it. Same bytes are harmless either way.
 */
function caseOnlyClash(files: readonly ArchiveFile[], paths: PathKinds, refuse: Refuse): StowageError | null {
  const byFolded = new Map<string, ArchiveFile>();
  for (const file of files) {
    const folded = file.path.normalize('NFC').toLowerCase();
    const other = byFolded.get(folded);
    if (!other) {
      byFolded.set(folded, file);
      continue;
    }
    if (other.data.equals(file.data)) continue;
    const entry = paths.get(file.path)?.entry ?? file.path;
    return refuse(
      entry,
      `${quote(other.path)} and ${quote(file.path)} differ only in letter case or Unicode normalisation and hold different bytes: ` +
        'a case-insensitive filesystem (macOS, Windows) would install one over the other',
    );
  }
  return null;
}

function quote(s: string): string {
  return JSON.stringify(s);
}
