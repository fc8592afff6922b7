import type { FixEcosystem, LockfileFormat, VersionScheme } from '../core/ecosystem.js';
import { dirname } from 'node:path';
import type { HttpOptions } from '../core/http.js';
import type { Ecosystem, Package } from '../core/package.js';

/**
 * Every lockfile stowage reads, in the order they are tried for a directory. npm reads
 * npm-shrinkwrap.json in preference to package-lock.json, and so does stowage.
 */
export const LOCKFILE_FORMATS: readonly LockfileFormat[] = [
  {
    ecosystem: 'cargo',
    fileName: 'Cargo.lock',
    manager: 'Cargo',
    manifestName: 'Cargo.toml',
    loadParser: async () => (await import('./cargo/lockfile.js')).parseCargoLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'npm-shrinkwrap.json',
    manager: 'npm',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/package-lock.js')).parsePackageLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'package-lock.json',
    manager: 'npm',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/package-lock.js')).parsePackageLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'yarn.lock',
    manager: 'yarn',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/yarn-lock.js')).parseYarnLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'pnpm-lock.yaml',
    manager: 'pnpm',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/pnpm-lock.js')).parsePnpmLock,
  },
  {
    ecosystem: 'npm',
    fileName: 'bun.lock',
    manager: 'bun',
    manifestName: 'package.json',
    loadParser: async () => (await import('./npm/bun-lock.js')).parseBunLock,
  },
];

/** A lockfile name that another one supersedes when both are present. */
export const SUPERSEDED: Readonly<Record<string, string>> = { 'package-lock.json': 'npm-shrinkwrap.json' };

export async function loadVersionScheme(ecosystem: Ecosystem): Promise<VersionScheme> {
  switch (ecosystem) {
    case 'cargo':
      return (await import('./cargo/version.js')).cargoVersionScheme;
    case 'npm':
      return (await import('./npm/version.js')).npmVersionScheme;
  }
}

/** The fix planner's view of an ecosystem for one lockfile and its project; loaded only by what plans fixes. */
export async function loadFixEcosystem(ecosystem: Ecosystem, lockfile: string, http: HttpOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<FixEcosystem> {
  switch (ecosystem) {
    case 'cargo':
      // `env`: what git runs with to read a git crate's manifest.
      return new (await import('./cargo/fix-ecosystem.js')).CargoFixEcosystem(dirname(lockfile), http, env);
    case 'npm':
      // `env`: what the project's .npmrc `${VAR}`s are expanded from.
      return new (await import('./npm/fix-ecosystem.js')).NpmFixEcosystem(lockfile, http, env);
  }
}

/**
 * Whether advisories apply to a package. Cargo: crates.io's crates; crates from another registry,
 * by name and version: a registry named in `[registries]` or replacing nothing is most often a
 * mirror or proxy of crates.io (Artifactory, Cloudsmith, a corporate index) serving crates.io's
 * own crates, so a vulnerable crate from it is reported (fail closed) and a private crate that
 * only shares a name is ignored by its advisory; and crates from git, by the name and version
 * Cargo.lock records (the repository's own Cargo.toml): a git dependency named like a crates.io
 * crate is its upstream repository or a fork of it, which carries the advisory's bug unless
 * someone fixed it there. npm: any registry package, since mirrors and
 * proxies (Artifactory, Verdaccio, a corporate host) serve the public registry's packages under
 * the same names; auditing a private package that shares a public name errs on the safe side.
 * For the same reason, an npm package fetched from git or as a tarball (`file:x.tgz`, a URL, a
 * patched one) is matched by the name and version the lockfile records: npm installs lodash
 * 4.17.4 from `file:lodash-4.17.4.tgz` as readily as from the registry. Only the project's own
 * directories (workspaces, `file:` and `link:` directories, Cargo path crates) are not
 * third-party code (but a path crate a `[patch]` puts in place of a registry or git
 * crate: isPatchedPathCrate), and a crate whose source names no registry stowage knows (isUnknownSourceCrate).
 */
export function isAuditable(pkg: Package): boolean {
  return pkg.source.kind === 'registry' || isFetchedOutsideRegistry(pkg) || isPatchedPathCrate(pkg);
}

/**
 * A Cargo path crate that a `[patch]` builds in place of the crates.io (or git) crate of its
 * name: a vendored copy or a fork of that crate, which carries an advisory's bug unless it was
 * fixed there (`[patch.crates-io] smallvec = { path = "third_party/smallvec" }` holding
 * smallvec 0.6.9 as published). Matched by name and version, as a git crate is, and the audit
 * says so when an advisory affects one. Other path crates are the project's own (a `[replace]`
 * leaves the replaced registry entry, same name and version, in Cargo.lock, and that is matched).
 */
export function isPatchedPathCrate(pkg: Package): boolean {
  return pkg.ecosystem === 'cargo' && pkg.source.kind === 'path' && pkg.source.patchesCrate === true;
}

/**
 * A crate from a registry other than crates.io: matched by name and version, as a mirror's
 * would be (isAuditable), and the audit says so when an advisory affects one.
 */
export function isOtherRegistryCrate(pkg: Package): boolean {
  return pkg.ecosystem === 'cargo' && pkg.source.kind === 'registry' && !pkg.source.isDefaultRegistry;
}

/**
 * A crate from a source stowage cannot place (kind `other`): a cargo-auditable `.dep-v0` source
 * other than "crates.io", "git", "local" and "registry", which its writer gives as the kind of
 * any other source id (`sparse` for a sparse registry's crate) and its reader keeps as
 * `Source::Other`, or a near-spelling ("crates.io ", "Crates.io"). Never matched (it names no
 * registry, crates.io or another), so the audit names it.
 */
export function isUnknownSourceCrate(pkg: Package): boolean {
  return pkg.ecosystem === 'cargo' && pkg.source.kind === 'other';
}

/**
 * An npm package installed from git or a tarball, a crate from git: its lockfile version is not
 * the registry's word, and what it holds may differ from the registry's release of that version.
 */
export function isFetchedOutsideRegistry(pkg: Package): boolean {
  switch (pkg.ecosystem) {
    case 'cargo':
      return pkg.source.kind === 'git';
    case 'npm':
      return pkg.source.kind === 'git' || pkg.source.kind === 'other';
  }
}

/** Where to find a database for an ecosystem, for the error that says none was given. */
export const ADVISORY_SOURCES_HINT: Readonly<Record<Ecosystem, string>> = {
  cargo: 'the RustSec advisory-db, its git URL or a checkout',
  npm: "a directory or .zip of OSV records for npm, such as osv.dev's npm export, https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
};
