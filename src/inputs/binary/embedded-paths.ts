import type { Package } from '../../core/package.js';
import { CRATES_IO_GIT_INDEX } from '../../ecosystems/cargo/source.js';
import { parseCargoVersion } from '../../ecosystems/cargo/version.js';

/**
 * Crates named by the source paths a Rust binary embeds (panic locations, debug info): Cargo
 * unpacks each crate into `…/registry/src/<index>/NAME-VERSION/` and Debian installs them in
 * `/usr/share/cargo/registry/NAME-VERSION/`; the standard library's own crates.io dependencies
 * (gimli, hashbrown…, compiled into every binary) are built from `/rust/deps/NAME-VERSION/`. What a binary's strings reveal is all that is
 * known: a crate whose code never panics and carries no debug info leaves no path, so this
 * inventory is partial.
 */

/** Cargo's unpack directory (either separator: Windows builds embed `\`). */
const CARGO_REGISTRY_PATH = /registry[/\\]src[/\\]([A-Za-z0-9._-]{1,128})[/\\]([A-Za-z0-9_-]{1,64}-\d{1,9}\.\d{1,9}\.\d{1,9}[0-9A-Za-z.+-]{0,128})[/\\]/g;
const CRATES_IO_PATH = /\/(?:usr\/share\/cargo\/registry|rust\/deps)\/([A-Za-z0-9_-]{1,64}-\d{1,9}\.\d{1,9}\.\d{1,9}[0-9A-Za-z.+-]{0,128})\//g;

/** Cargo names crates.io's unpack directory after the index host and a hash of its URL. */
const CRATES_IO_INDEX_DIR = /^(?:index\.crates\.io|github\.com)-[0-9a-f]{16}$/;

/**
 * `NAME-VERSION` split where the version starts: crate names hold no `.`, so the version is
 * the first `-MAJOR.MINOR.PATCH…` that parses as a whole semver version; a name may hold `-`
 * and digits (`tree-sitter-2`), a version pre-release and build parts (`1.0.0-rc.1+x`).
 */
function splitNameVersion(dir: string): { name: string; version: string } | null {
  for (let dash = dir.indexOf('-'); dash > 0; dash = dir.indexOf('-', dash + 1)) {
    const name = dir.slice(0, dash);
    const version = dir.slice(dash + 1);
    if (!/^\d+\.\d+\.\d+/.test(version) || !/^[A-Za-z0-9_-]+$/.test(name)) continue;
    try {
      parseCargoVersion(version);
      return { name, version };
    } catch {
      continue;
    }
  }
  return null;
}

/** Bytes every path above holds; only the bytes around them are decoded and matched. */
const ANCHORS = [Buffer.from('registry', 'latin1'), Buffer.from('/rust/deps/', 'latin1')];
/** The longest match extends this far from its anchor (the limits in the patterns above). */
const WINDOW_BEFORE = 32;
const WINDOW_AFTER = 400;

/** The crates the binary's embedded paths name, each once, sorted by name then version. */
export function cratesFromEmbeddedPaths(bytes: Uint8Array): Package[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = new Map<string, Package>();
  const seen = new Set<string>();
  const add = (dir: string, indexDir: string | null): void => {
    // A crate's directory recurs once per source file that left a path: split it once.
    const key = `${indexDir ?? ''}/${dir}`;
    if (seen.has(key)) return;
    seen.add(key);
    const split = splitNameVersion(dir);
    if (!split) return;
    const cratesIo = indexDir === null || CRATES_IO_INDEX_DIR.test(indexDir);
    const id = cratesIo ? `${split.name}@${split.version}` : `${split.name}@${split.version} (${indexDir})`;
    if (!found.has(id)) found.set(id, {
      id,
      ecosystem: 'cargo',
      name: split.name,
      version: split.version,
      // Debian's registry holds crates.io's crates, repackaged; so does the standard library's.
      source: cratesIo
        ? { kind: 'registry', url: CRATES_IO_GIT_INDEX, isDefaultRegistry: true }
        : { kind: 'registry', url: indexDir, isDefaultRegistry: false },
      checksum: null,
    });
  };
  // Buffer.indexOf finds the anchors at memory speed; decoding and matching the whole file
  // (latin1: one character per byte) would cost more than reading it.
  for (const anchor of ANCHORS) {
    for (let at = buffer.indexOf(anchor); at >= 0; at = buffer.indexOf(anchor, at + anchor.length)) {
      const text = buffer.toString('latin1', Math.max(0, at - WINDOW_BEFORE), Math.min(buffer.length, at + WINDOW_AFTER));
      for (const m of text.matchAll(CARGO_REGISTRY_PATH)) add(m[2] as string, m[1] as string);
      for (const m of text.matchAll(CRATES_IO_PATH)) add(m[1] as string, null);
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}
