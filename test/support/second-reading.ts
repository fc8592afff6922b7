import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { parse as parseToml } from 'smol-toml';

/**
 * A second reading of advisories and lockfiles, written in the tests from the formats' own
 * descriptions and general-purpose libraries (a TOML parser, the semver package), sharing no
 * code with stowage: expected findings derived from it are not copied from stowage's output.
 * It is deliberately simple; it covers the real files the tests give it, and a test comparing
 * against it fails loudly where the two readings differ.
 */

/** An OSV `affected` entry as the record holds it. */
export interface OsvAffected {
  package: { ecosystem: string; name: string };
  ranges?: { type: string; events: Record<string, string>[] }[];
  versions?: string[];
}

/** GHSA writes a few bounds short (`1.0`); GitHub's own reading pads them to `1.0.0`. */
function padded(version: string): string {
  return /^\d+(\.\d+)?$/.test(version) ? `${version}.0.0`.split('.').slice(0, 3).join('.') : version;
}

/**
 * The OSV specification's evaluation, from the spec's pseudocode with npm's ordering (the semver
 * package): events sorted by version, `introduced` opens, `fixed` closes at the version,
 * `last_affected` closes after it; or the version is listed in `versions`.
 */
export function osvSpecVerdict(entries: readonly OsvAffected[], version: string): boolean {
  return entries.some((entry) => {
    if (entry.versions?.includes(version)) return true;
    return (entry.ranges ?? []).some((range) => {
      if (range.type === 'GIT') return false;
      const events = range.events.map((e) => {
        const [kind, at] = Object.entries(e)[0] as [string, string];
        return { kind, at: at === '0' ? '0.0.0-0' : padded(at) };
      });
      events.sort((a, b) => semver.compare(a.at, b.at));
      let affected = false;
      for (const e of events) {
        if (e.kind === 'introduced' && semver.gte(version, e.at)) affected = true;
        else if (e.kind === 'fixed' && semver.gte(version, e.at)) affected = false;
        else if (e.kind === 'last_affected' && semver.gt(version, e.at)) affected = false;
      }
      return affected;
    });
  });
}

/** Every bound an OSV entry names, normalised: the versions worth testing a verdict at. */
export function osvBounds(entries: readonly OsvAffected[]): string[] {
  return entries
    .flatMap((e) => [...(e.versions ?? []), ...(e.ranges ?? []).flatMap((r) => r.events.map((ev) => Object.values(ev)[0] as string))])
    .map(padded)
    .filter((b) => semver.valid(b) !== null);
}

/**
 * A Cargo requirement (as RustSec writes them: `>= 1.2.3`, `^0.4`, `>= 0.3, < 0.4`, a bare
 * `1.2.3` meaning `^1.2.3`) as an npm range: commas are npm's spaces; the operators mean the same.
 */
function cargoRequirementAsNpmRange(requirement: string): string {
  return requirement
    .split(',')
    .map((c) => c.trim().replace(/\s+/g, ''))
    .map((c) => (/^\d/.test(c) ? `^${c}` : c))
    .join(' ');
}

export interface SecondReadingFinding {
  kind: string;
  id: string;
  name: string;
  version: string;
}

/** `kind id name@version`, sorted: the form the tests compare. */
export function findingLines(findings: readonly SecondReadingFinding[]): string[] {
  return findings.map((f) => `${f.kind} ${f.id} ${f.name}@${f.version}`).sort();
}

/**
 * RustSec advisories (a checkout: crates/NAME/ID.md, TOML front matter) against the crates.io
 * packages of a Cargo.lock: affected unless a `patched` or `unaffected` requirement holds;
 * withdrawn advisories never; `informational` gives the kind.
 */
export function rustsecFindings(checkout: string, cargoLock: string): SecondReadingFinding[] {
  const lock = parseToml(readFileSync(cargoLock, 'utf8')) as { package: { name: string; version: string; source?: string }[] };
  const crates = lock.package.filter((p) => p.source === 'registry+https://github.com/rust-lang/crates.io-index' || p.source === 'sparse+https://index.crates.io/');
  const findings: SecondReadingFinding[] = [];
  for (const dir of readdirSync(join(checkout, 'crates'))) {
    const locked = crates.filter((c) => c.name === dir);
    if (locked.length === 0) continue;
    for (const file of readdirSync(join(checkout, 'crates', dir)).filter((f) => f.endsWith('.md'))) {
      const front = /^```toml\n([\s\S]*?)\n```/m.exec(readFileSync(join(checkout, 'crates', dir, file), 'utf8'))?.[1] ?? '';
      const toml = parseToml(front) as {
        advisory: { id: string; package: string; informational?: string; withdrawn?: unknown };
        versions?: { patched?: string[]; unaffected?: string[] };
      };
      if (toml.advisory.withdrawn !== undefined) continue;
      const safe = [...(toml.versions?.patched ?? []), ...(toml.versions?.unaffected ?? [])].map(cargoRequirementAsNpmRange);
      for (const crate of locked) {
        if (safe.some((range) => semver.satisfies(crate.version, range, { includePrerelease: true }))) continue;
        findings.push({ kind: toml.advisory.informational ?? 'vulnerability', id: toml.advisory.id, name: crate.name, version: crate.version });
      }
    }
  }
  return findings;
}

/**
 * GitHub advisories (a directory of OSV JSON) against the packages of a package-lock v2/v3:
 * each `packages` entry but the root and links, by name (npm names are case-insensitive in
 * advisories), withdrawn records never. `dev` is the lockfile's own dev flag.
 */
export function ghsaFindings(advisoryDir: string, packageLock: string): (SecondReadingFinding & { dev: boolean })[] {
  const lock = JSON.parse(readFileSync(packageLock, 'utf8')) as { packages: Record<string, { name?: string; version?: string; link?: boolean; dev?: boolean }> };
  const installed = Object.entries(lock.packages)
    .filter(([key, e]) => key !== '' && e.link !== true && e.version !== undefined)
    .map(([key, e]) => ({ name: e.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length), version: e.version as string, dev: e.dev === true }));
  const findings = new Map<string, SecondReadingFinding & { dev: boolean }>();
  for (const file of readdirSync(advisoryDir).filter((f) => f.endsWith('.json'))) {
    const record = JSON.parse(readFileSync(join(advisoryDir, file), 'utf8')) as { id: string; withdrawn?: string; affected: OsvAffected[] };
    if (record.withdrawn !== undefined) continue;
    for (const pkg of installed) {
      const entries = record.affected.filter((a) => a.package.ecosystem === 'npm' && a.package.name.toLowerCase() === pkg.name.toLowerCase());
      if (entries.length === 0 || !osvSpecVerdict(entries, pkg.version)) continue;
      const key = `${record.id} ${pkg.name}@${pkg.version}`;
      // One finding per package version: dev-only when every copy of it is.
      const seen = findings.get(key);
      findings.set(key, { kind: 'vulnerability', id: record.id, name: pkg.name, version: pkg.version, dev: (seen?.dev ?? true) && pkg.dev });
    }
  }
  return [...findings.values()];
}

export interface PackageLockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  link?: boolean;
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * A package-lock v2/v3's `packages` and its edges, each dependency found as Node finds it (the
 * entry's own node_modules, then each ancestor's); the root's devDependencies count, nobody
 * else's (npm installs only the root's). A dependency found nowhere (a missing optional peer) is
 * no edge.
 */
export function packageLockTree(path: string): { entries: Record<string, PackageLockEntry>; edges: [string, string][]; nameOf(key: string): string } {
  const entries = (JSON.parse(readFileSync(path, 'utf8')) as { packages: Record<string, PackageLockEntry> }).packages;
  const resolve = (from: string, dep: string): string | undefined => {
    for (let dir = from; ; ) {
      const key = `${dir === '' ? '' : `${dir}/`}node_modules/${dep}`;
      if (key in entries) return key;
      if (dir === '') return undefined;
      const up = dir.lastIndexOf('/node_modules/');
      dir = up === -1 ? '' : dir.slice(0, up);
    }
  };
  const edges: [string, string][] = [];
  for (const [key, e] of Object.entries(entries)) {
    const deps = { ...e.peerDependencies, ...e.optionalDependencies, ...e.dependencies, ...(key === '' ? e.devDependencies : {}) };
    for (const dep of Object.keys(deps)) {
      const to = resolve(key, dep);
      if (to !== undefined) edges.push([key, to]);
    }
  }
  const nameOf = (key: string): string => entries[key]?.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
  return { entries, edges, nameOf };
}
