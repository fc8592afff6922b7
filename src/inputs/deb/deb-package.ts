import type { Compression } from '../../core/decompress.js';
import { InputError } from '../../core/errors.js';
import { readUntrustedTar, readUntrustedTree, type ArchiveFile, type TreeLink } from '../../core/untrusted-tar.js';
import { readAr, type ArMember } from './ar.js';
import { parseControl } from './control.js';
import { archiveCaps, keptBytesCap, SHIPPED_LIMITS, type ShippedLimits } from '../shipped-limits.js';
import { ownValue } from '../../core/own-value.js';

/** A binary Debian package as stowage reads it: its control fields, and the files it keeps from its data. */
export interface DebPackage {
  /** Control fields by lower-cased name. */
  control: Map<string, string>;
  /** The data files `keep` chose, by their installed path (`usr/bin/rg`). */
  files: ArchiveFile[];
  /** The data's symbolic links, by installed path: recorded, never followed. */
  symlinks: TreeLink[];
}

/**
 * The compressions dpkg-deb reads each member with, by the member name's suffix (dpkg 1.21's
 * deb(5)): the control archive gzip, xz, zstd or none; the data archive lzma too, and bzip2,
 * which stowage does not read.
 */
const MEMBER_COMPRESSION: Readonly<Record<'control.tar' | 'data.tar', Readonly<Record<string, Compression>>>> = {
  'control.tar': { '': 'none', '.gz': 'gz', '.xz': 'xz', '.zst': 'zst' },
  'data.tar': { '': 'none', '.gz': 'gz', '.xz': 'xz', '.lzma': 'lzma', '.zst': 'zst' },
};

/** A control.tar holds a few small files; far past any real one. */
const CONTROL_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Reads a `.deb` (deb(5)) in memory, as dpkg-deb does: the `ar` members `debian-binary` (format
 * 2.x), `control.tar[.gz|.xz|.lzma|.zst]` and `data.tar[.gz|.xz|.lzma|.zst]` in that order (members whose
 * names start with `_` may come between them and are skipped, as dpkg skips them). Nothing is
 * unpacked to disk; the data tar is read as an untrusted file system image (untrusted-tar.ts)
 * and only the files `keep` wants stay in memory.
 */
export async function readDebPackage(bytes: Buffer, label: string, keep: (path: string, head: Buffer) => boolean, limits: ShippedLimits = SHIPPED_LIMITS): Promise<DebPackage> {
  const members = readAr(bytes, label).filter((m) => !m.name.startsWith('_'));
  const [version, control, data] = members;
  if (version?.name !== 'debian-binary') throw new InputError(label, 'not a Debian package: the first ar member is not "debian-binary"');
  if (!/^2\.\d+\n/.test(version.data.toString('latin1'))) {
    throw new InputError(label, `Debian package format ${JSON.stringify(version.data.toString('latin1').trim())} is not 2.x`);
  }
  const controlTar = tarMember(control, 'control.tar', label);
  const dataTar = tarMember(data, 'data.tar', label);
  if (members.length > 3) throw new InputError(label, `unexpected ar member ${JSON.stringify(members[3]?.name)} after data.tar`);

  const controlFiles = await readUntrustedTar(controlTar.bytes, {
    label: `${label}:${controlTar.name}`,
    compression: controlTar.compression,
    maxBytes: CONTROL_MAX_BYTES,
    maxEntries: 10_000,
    duplicates: 'refuse',
  });
  const controlFile = controlFiles.find((f) => f.path === 'control');
  if (!controlFile) throw new InputError(`${label}:${controlTar.name}`, 'no control file');
  const tree = await readUntrustedTree(dataTar.bytes, {
    label: `${label}:${dataTar.name}`,
    compression: dataTar.compression,
    ...limits,
    ...archiveCaps(limits, dataTar.bytes.length),
    ...keptBytesCap(limits, dataTar.bytes.length),
    duplicates: 'replace',
    keep,
  });
  return { control: parseControl(controlFile.data.toString('utf8'), `${label}:${controlTar.name}:control`), files: tree.files, symlinks: tree.symlinks };
}

function tarMember(member: ArMember | undefined, base: 'control.tar' | 'data.tar', label: string): { name: string; bytes: Buffer; compression: Compression } {
  if (!member) throw new InputError(label, `truncated Debian package: no ${base} member`);
  if (!member.name.startsWith(base)) throw new InputError(label, `expected the ${base} member, found ${JSON.stringify(member.name)}`);
  const suffix = member.name.slice(base.length);
  const compression = ownValue(MEMBER_COMPRESSION[base], suffix);
  if (compression === undefined) {
    const why = base === 'data.tar' && suffix === '.bz2' ? 'bzip2, which dpkg reads but stowage does not' : `a compression ${base === 'control.tar' && suffix === '.lzma' ? 'dpkg' : 'stowage'} does not read`;
    const read = Object.keys(MEMBER_COMPRESSION[base]).map((s) => `"${base}${s}"`).join(', ');
    throw new InputError(label, `${member.name}: ${why} (${base} is read as ${read})`);
  }
  return { name: member.name, bytes: member.data, compression };
}
