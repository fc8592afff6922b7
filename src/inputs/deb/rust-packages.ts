import { InputError } from '../../core/errors.js';
import type { Relation } from './control.js';

/**
 * Debian's names and versions for crates, mapped back to crates.io's, following debcargo (the
 * tool that makes every `rust-*` package):
 *
 * - a crate's package is `rust-` + its name lower-cased with `_` as `-` (debcargo's
 *   `base_deb_name`); crates.io holds no two crates that differ only so, and stowage compares
 *   crate names the same way, so the Debian spelling finds the crate's advisories;
 * - a second semver-major line packaged beside the newest gets a suffix: `-MAJOR`, or `-0.MINOR`
 *   below 1.0 (`rust-clap-3`, `rust-cfg-if-0.1`). The suffix is dropped only when the version is
 *   on that line: `rust-sha-1 (= 0.10.1-2)` is the crate `sha-1`, not `sha` 1.x;
 * - the version is `[epoch:]UPSTREAM[-REVISION]`, where debcargo writes UPSTREAM as
 *   `MAJOR.MINOR.PATCH`, then `~PRERELEASE` for a semver pre-release, then `+REPACK`
 *   (`+dfsg`, `+ds`) for a repacked source; semver build metadata is left out. So the crate
 *   version is UPSTREAM without the repack suffix, with `~` read back as `-`.
 */
export interface DebianCrate {
  name: string;
  version: string;
  /** The relation as the field wrote it, for messages. */
  debian: string;
}

/** What a Built-Using field names that is not a crate: the toolchain, or another language's source. */
const TOOLCHAIN = new Set(['rustc', 'cargo', 'rustc-web', 'rustc-mozilla']);

export function cratesOfRelations(relations: readonly Relation[], field: string, label: string): { crates: DebianCrate[]; others: string[] } {
  const crates: DebianCrate[] = [];
  const others: string[] = [];
  for (const relation of relations) {
    const debian = relation.version === null ? relation.name : `${relation.name} (= ${relation.version})`;
    if (!relation.name.startsWith('rust-') || relation.name.length === 'rust-'.length) {
      if (!TOOLCHAIN.has(relation.name) && !/^rustc-\d/.test(relation.name)) others.push(debian);
      continue;
    }
    if (relation.version === null) throw new InputError(label, `${field}: ${debian} names no version, so the crate version built in is unknown`);
    const version = crateVersion(relation.version);
    if (version === null) throw new InputError(label, `${field}: ${debian}: ${JSON.stringify(relation.version)} is not a Debian version of a crate (MAJOR.MINOR.PATCH[~PRE][+REPACK][-REVISION])`);
    crates.push({ name: crateName(relation.name.slice('rust-'.length), version), version, debian });
  }
  return { crates, others };
}

const UPSTREAM = /^(\d+)\.(\d+)\.(\d+)(?:~([0-9A-Za-z.-]+?))?(?:\+[0-9A-Za-z.~]+)?$/;

/** The crate version of a Debian version, or null when debcargo would not have written it. */
export function crateVersion(debianVersion: string): string | null {
  const withoutEpoch = debianVersion.replace(/^\d+:/, '');
  const dash = withoutEpoch.lastIndexOf('-');
  const upstream = dash < 0 ? withoutEpoch : withoutEpoch.slice(0, dash);
  const match = UPSTREAM.exec(upstream);
  if (!match) return null;
  const [, major, minor, patch, pre] = match as unknown as [string, string, string, string, string | undefined];
  if ([major, minor, patch].some((n) => n.length > 1 && n.startsWith('0'))) return null;
  return `${major}.${minor}.${patch}${pre === undefined ? '' : `-${pre}`}`;
}

/** The crate name of `rust-NAME` (NAME given), its semver-line suffix dropped when `version` is on that line. */
export function crateName(debianName: string, version: string): string {
  const [major = '', minor = ''] = version.split('.');
  const line = major === '0' ? `0.${minor}` : major;
  return debianName.endsWith(`-${line}`) && debianName.length > line.length + 1 ? debianName.slice(0, -(line.length + 1)) : debianName;
}
