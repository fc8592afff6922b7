import type { Compression } from '../../core/decompress.js';
import { inflate } from '../../core/decompress.js';
import { InputError, StowageError } from '../../core/errors.js';
import type { DependencyGraph } from '../../core/graph.js';
import type { CycloneDxReadOptions } from '../cyclonedx-reader.js';
import { inventoryDisagreements, respellFrom } from '../inventory-comparison.js';
import { inventoryGraph } from '../inventory.js';
import type { TreeLink } from '../../core/untrusted-tar.js';
import { isTreeInventoryFile, treeApplications } from '../installed-tree.js';
import { readVendorArchive } from '../vendor-archive.js';
import { bundledProvides } from './bundled-provides.js';
import { readCpio } from './cpio.js';
import { readRpmFile } from './rpm-file.js';
import { ownValue } from '../../core/own-value.js';
import type { ShippedRead } from '../shipped-artifact.js';
import { archiveCaps, keptBytesCap, SHIPPED_LIMITS, type ShippedLimits } from '../shipped-limits.js';

/**
 * rpm's payload compressors (PAYLOADCOMPRESSOR) that stowage inflates. rpm opens the payload with
 * the I/O type the tag names, by its name or by its `*dio` name (rpmio's findIOT: `gzdio`, `xzdio`,
 * `lzdio`, `zstdio`; `fdio` and `ufdio` read the bytes as they are): checked with rpm 4.18, which
 * installs each. bzip2 (`bzdio`) is the one rpm reads and stowage does not.
 */
const PAYLOAD_COMPRESSION: Readonly<Record<string, Compression>> = {
  gzip: 'gz',
  gzdio: 'gz',
  xz: 'xz',
  xzdio: 'xz',
  lzma: 'lzma',
  lzdio: 'lzma',
  zstd: 'zst',
  zstdio: 'zst',
  identity: 'none',
  fdio: 'none',
  ufdio: 'none',
};
const UNREAD_PAYLOAD_COMPRESSORS: readonly string[] = ['bzip2', 'bzdio'];


/** What `stowage package rpm` names its vendor archive in a source RPM (Source1). */
const VENDOR_ARCHIVE = /-vendor\.tar\.(zst|gz)$/;

/**
 * An RPM as applications to audit. A binary RPM: the packages its `bundled(...)` provides
 * name (one graph per ecosystem, 'bundled provides'), and each Rust binary in its payload, as
 * read from the binary itself, side by side. A source RPM made by `stowage package rpm`: the
 * SBOM of the vendor archive it carries, which lists every locked package.
 */
export async function readRpm(path: string, bytes: Buffer, options: CycloneDxReadOptions, limits: ShippedLimits = SHIPPED_LIMITS): Promise<ShippedRead> {
  const rpm = readRpmFile(bytes, path);
  const nevr = `${rpm.name} ${rpm.version}-${rpm.release}`;
  if (rpm.payloadFormat !== 'cpio') throw new InputError(path, `payload format ${JSON.stringify(rpm.payloadFormat)} is not cpio`);
  // rpm opens a gzip payload (and one without the tag: rpmbuild's uncompressed `w0.ufdio` writes
  // none) with zlib's gzdopen, which reads bytes without gzip's magic as they are.
  const named = ownValue(PAYLOAD_COMPRESSION, rpm.payloadCompressor);
  const unzipped = named === 'gz' && !(rpm.payload[0] === 0x1f && rpm.payload[1] === 0x8b);
  if (UNREAD_PAYLOAD_COMPRESSORS.includes(rpm.payloadCompressor)) throw new InputError(path, `payload compressor ${JSON.stringify(rpm.payloadCompressor)} is not one stowage reads (gzip, xz, lzma, zstd or none)`);
  // A name rpm has no I/O type for opens no decompressor: rpm 4.18 reads (and installs) the bytes as they are.
  const compression = unzipped || named === undefined ? 'none' : named;
  const label = `${path}: payload`;
  // A binary RPM's payload is read as an installed tree: its Rust binaries, and the node_modules it
  // ships, with their links (a hard link's names all read, with the bytes its last name carries).
  const keep = rpm.kind === 'source' ? (file: string): boolean => VENDOR_ARCHIVE.test(file) : (file: string, head: Buffer): boolean => head.length > 0 && isTreeInventoryFile(file, head);
  const symlinks: TreeLink[] = [];
  const onSymlink = rpm.kind === 'source' ? undefined : (link: TreeLink): void => void symlinks.push(link);
  let files;
  try {
    // The caller's caps, as a .deb's data and an image's layers get them (an upload's: its ratio too).
    files = await readCpio(inflate(rpm.payload, compression), { label, ...limits, ...archiveCaps(limits, rpm.payload.length), ...keptBytesCap(limits, rpm.payload.length), keep, ...(onSymlink ? { onSymlink } : {}), ...(rpm.kind === 'binary' ? { installs: rpm.files } : {}) });
  } catch (err) {
    if (err instanceof StowageError) throw err;
    throw new InputError(label, `truncated or corrupt ${rpm.payloadCompressor} data: ${err instanceof Error ? err.message : String(err)}`);
  }

  if (rpm.kind === 'source') {
    const archive = files[0];
    if (!archive) throw new InputError(path, `a source RPM (${nevr}) without a stowage vendor archive (NAME-VERSION-vendor.tar.zst): nothing to audit`);
    return { artifact: { path, kind: 'source RPM', name: rpm.name, version: `${rpm.version}-${rpm.release}` }, graphs: await readVendorArchive(archive.data, `${path}:${archive.path}`, options, limits) };
  }

  const { graphs: installed, warnings: unaudited } = treeApplications(files, path, symlinks, true);
  const provides = bundledProvides(rpm.provides);
  const graphs: DependencyGraph[] = [];
  for (const [ecosystem, packages] of provides.packages) {
    const graph = inventoryGraph({
      ecosystem,
      path,
      format: 'RPM bundled provides',
      inventory: 'bundled provides',
      application: { name: rpm.name, version: `${rpm.version}-${rpm.release}` },
      packages: packages.map((p) => ({ name: respellFrom(installed.filter((g) => g.ecosystem === ecosystem), p.name), version: p.version })),
      warnings: [],
    });
    for (const binary of installed) (graph.warnings ??= []).push(...inventoryDisagreements(graph, binary, { name: rpm.name, version: rpm.version.replaceAll('~', '-') }));
    if (graph.warnings?.length === 0) delete graph.warnings;
    graphs.push(graph);
  }
  if (graphs.length === 0 && installed.length === 0) {
    throw new InputError(path, `nothing to audit: ${nevr} has no bundled(crate(...)), bundled(npm(...)) or bundled(nodejs-...) provide, no Rust binary and no node_modules`);
  }
  // Said of the RPM, not of one ecosystem's graph: with no versioned provide beside them there is no such graph.
  if (provides.unversioned.length > 0) unaudited.push(`${path}: bundled provides without an exact version (= VERSION), not audited: ${provides.unversioned.join(', ')}`);
  return { artifact: { path, kind: 'RPM', name: rpm.name, version: `${rpm.version}-${rpm.release}` }, graphs: [...graphs, ...installed], warnings: unaudited };
}
