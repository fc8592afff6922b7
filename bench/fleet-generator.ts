/**
 * The reference fleet: N applications made from the shared real lockfiles, each with a
 * dependency set of its own. Application i takes base lockfile i mod B (every kanidm Cargo.lock
 * of format v2 or later, every jellyfin-web package-lock.json v2/v3: several hundred packages each) and
 * variant v = floor(i / B): bit j of v set means the j-th "swappable" package of that base is
 * moved to another version that some other corpus lockfile really locks (with that lockfile's
 * checksum or resolved URL and integrity). A swappable package is a registry package locked at
 * one version in its base, with another version elsewhere in the corpus; swappables are taken in
 * name order. Distinct (base, v) give distinct dependency sets, so every application differs.
 * Also used by fleet-eval's sync bench: `generateFleet(dir, count)`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './results-file.js';

const CARGO = resolve(ROOT, '..', 'shared', 'corpus', 'cargo');
const NPM = resolve(ROOT, '..', 'shared', 'corpus', 'npm');

const CRATES_IO = 'registry+https://github.com/rust-lang/crates.io-index';

/** One way to build a variant of a base lockfile. */
interface Base {
  /** Name stem, e.g. `kanidm-2024-02-01`. */
  stem: string;
  /** Lockfile suffix (`.Cargo.lock`) and the manifest written beside it. */
  lockSuffix: string;
  manifest: { suffix: string; text: string };
  swappable: number;
  /** The lockfile text with the swaps whose bits are set in `variant`. */
  variant(variant: number): string;
}

/** name -> version -> checksum of every crates.io package in the Cargo corpus. */
function cratePool(files: string[]): Map<string, Map<string, string>> {
  const pool = new Map<string, Map<string, string>>();
  for (const file of files) {
    for (const block of readFileSync(file, 'utf8').split('\n[[package]]\n').slice(1)) {
      const name = /^name = "(.+)"$/m.exec(block)?.[1];
      const version = /^version = "(.+)"$/m.exec(block)?.[1];
      const checksum = /^checksum = "(.+)"$/m.exec(block)?.[1];
      if (!name || !version || !checksum || !block.includes(`source = "${CRATES_IO}"`)) continue;
      if (!pool.has(name)) pool.set(name, new Map());
      pool.get(name)?.set(version, checksum);
    }
  }
  return pool;
}

function cargoBase(file: string, pool: Map<string, Map<string, string>>): Base {
  const text = readFileSync(file, 'utf8');
  const [head, ...blocks] = text.split('\n[[package]]\n');
  const counts = new Map<string, number>();
  for (const b of blocks) {
    const name = /^name = "(.+)"$/m.exec(b)?.[1] ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  // Block index -> [version, checksum] it may take instead.
  const swaps: [number, string, string][] = [];
  blocks.forEach((b, index) => {
    const name = /^name = "(.+)"$/m.exec(b)?.[1] ?? '';
    const version = /^version = "(.+)"$/m.exec(b)?.[1] ?? '';
    if (counts.get(name) !== 1 || !b.includes(`source = "${CRATES_IO}"`) || !/^checksum = /m.test(b)) return;
    const other = [...(pool.get(name) ?? new Map<string, string>()).entries()].filter(([v]) => v !== version).sort(([a], [b]) => (a < b ? -1 : 1))[0];
    if (other) swaps.push([index, other[0], other[1]]);
  });
  swaps.sort((a, b) => ((/^name = "(.+)"$/m.exec(blocks[a[0]] ?? '')?.[1] ?? '') < (/^name = "(.+)"$/m.exec(blocks[b[0]] ?? '')?.[1] ?? '') ? -1 : 1));
  const stem = file.split('/').pop()?.replace(/\.Cargo\.lock$/, '') ?? 'app';
  return {
    stem,
    lockSuffix: '.Cargo.lock',
    manifest: { suffix: '.Cargo.toml', text: readFileSync(file.replace(/\.Cargo\.lock$/, '.Cargo.toml'), 'utf8') },
    swappable: swaps.length,
    variant(variant: number): string {
      const out = [...blocks];
      swaps.forEach(([index, version, checksum], bit) => {
        if (((variant >> bit) & 1) === 0) return;
        out[index] = (out[index] as string).replace(/^version = ".+"$/m, `version = "${version}"`).replace(/^checksum = ".+"$/m, `checksum = "${checksum}"`);
      });
      return [head, ...out].join('\n[[package]]\n');
    },
  };
}

/** A registry tarball URL (the corpus has registry.npmjs.org and anonymised registry.invalid ones). */
const REGISTRY_TARBALL = /^https?:\/\/[^/]+\/.+\/-\/[^/]+\.tgz$/;

interface NpmEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  [key: string]: unknown;
}

/** name -> version -> entry (resolved, integrity) of every registry package in the package-locks. */
function npmPool(files: string[]): Map<string, Map<string, NpmEntry>> {
  const pool = new Map<string, Map<string, NpmEntry>>();
  for (const file of files) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { packages?: Record<string, NpmEntry> };
    for (const [key, entry] of Object.entries(doc.packages ?? {})) {
      const name = key.split('node_modules/').pop() ?? '';
      if (!key.includes('node_modules/') || !entry.version || !REGISTRY_TARBALL.test(entry.resolved ?? '') || !entry.integrity) continue;
      if (!pool.has(name)) pool.set(name, new Map());
      pool.get(name)?.set(entry.version, entry);
    }
  }
  return pool;
}

function npmBase(file: string, pool: Map<string, Map<string, NpmEntry>>): Base {
  const text = readFileSync(file, 'utf8');
  const doc = JSON.parse(text) as { packages: Record<string, NpmEntry> };
  const counts = new Map<string, number>();
  for (const key of Object.keys(doc.packages)) {
    const name = key.split('node_modules/').pop() ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const swaps: [string, NpmEntry][] = [];
  for (const [key, entry] of Object.entries(doc.packages)) {
    const name = key.split('node_modules/').pop() ?? '';
    if (!key.startsWith('node_modules/') || counts.get(name) !== 1 || !REGISTRY_TARBALL.test(entry.resolved ?? '')) continue;
    const other = [...(pool.get(name) ?? new Map<string, NpmEntry>()).entries()].filter(([v]) => v !== entry.version).sort(([a], [b]) => (a < b ? -1 : 1))[0];
    if (other) swaps.push([key, other[1]]);
  }
  swaps.sort(([a], [b]) => (a < b ? -1 : 1));
  const stem = file.split('/').pop()?.replace(/\.package-lock\.json$/, '') ?? 'app';
  return {
    stem,
    lockSuffix: '.package-lock.json',
    manifest: { suffix: '.package.json', text: readFileSync(file.replace(/\.package-lock\.json$/, '.package.json'), 'utf8') },
    swappable: swaps.length,
    variant(variant: number): string {
      if (variant === 0) return text;
      const copy = JSON.parse(text) as { packages: Record<string, NpmEntry> };
      swaps.forEach(([key, other], bit) => {
        if (((variant >> bit) & 1) === 0) return;
        copy.packages[key] = { ...copy.packages[key], version: other.version, resolved: other.resolved, integrity: other.integrity };
      });
      return JSON.stringify(copy, null, 2) + '\n';
    },
  };
}

export interface GeneratedFleet {
  dir: string;
  /** The lockfile of every application, one per line: what `fleet add --from-file` reads. */
  list: string;
  lockfiles: string[];
  bases: number;
}

/** Writes `count` applications (NAME.Cargo.lock + NAME.Cargo.toml, or the package-lock pair) into `dir`. */
export function generateFleet(dir: string, count: number): GeneratedFleet {
  const cargoFiles = readdirSync(CARGO).filter((f) => f.startsWith('kanidm-') && f.endsWith('.Cargo.lock')).map((f) => join(CARGO, f)).filter((f) => !readFileSync(f, 'utf8').includes('\n[metadata]'));
  // package-lock v2 and v3 (with `packages`), the form npm writes today.
  const npmFiles = readdirSync(NPM).filter((f) => f.endsWith('.package-lock.json')).map((f) => join(NPM, f)).filter((f) => (JSON.parse(readFileSync(f, 'utf8')) as { packages?: unknown }).packages !== undefined);
  const crates = cratePool(readdirSync(CARGO).filter((f) => f.endsWith('.Cargo.lock')).map((f) => join(CARGO, f)));
  const npm = npmPool(npmFiles);
  const bases = [...cargoFiles.map((f) => cargoBase(f, crates)), ...npmFiles.map((f) => npmBase(f, npm))];
  const variants = Math.ceil(count / bases.length);
  const bitsNeeded = Math.max(1, Math.ceil(Math.log2(variants)));
  for (const b of bases) if (b.swappable < bitsNeeded) throw new Error(`${b.stem}: ${b.swappable} swappable packages, ${variants} variants need ${bitsNeeded}`);
  mkdirSync(dir, { recursive: true });
  const lockfiles: string[] = [];
  for (let i = 0; i < count; i++) {
    const base = bases[i % bases.length] as Base;
    const variant = Math.floor(i / bases.length);
    const name = `${base.stem}-v${variant}`;
    const lock = join(dir, `${name}${base.lockSuffix}`);
    writeFileSync(lock, base.variant(variant));
    writeFileSync(join(dir, `${name}${base.manifest.suffix}`), base.manifest.text);
    lockfiles.push(lock);
  }
  const list = join(dir, 'apps.txt');
  writeFileSync(list, lockfiles.join('\n') + '\n');
  return { dir, list, lockfiles, bases: bases.length };
}
