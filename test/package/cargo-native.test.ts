import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { cargoBundledCLibraries, cratesWithoutCSources, systemDepsModules } from '../../src/package/cargo-native.js';

test('the C library a -src/-sys crate carries is named by its version, or not at all', () => {
  const found = cargoBundledCLibraries([
    { name: 'openssl-src', version: '111.28.0+1.1.1w' },
    { name: 'zstd-sys', version: '2.0.9+zstd.1.5.5' },
    { name: 'tikv-jemalloc-sys', version: '0.5.4+5.3.0-patched' },
    { name: 'curl-sys', version: '0.4.72+curl-8.6.0' },
    // No build metadata, or metadata that does not name a version: nothing rather than a guess.
    { name: 'libgit2-sys', version: '0.14.1' },
    { name: 'bzip2-sys', version: '0.1.11+unknown' },
    { name: 'serde', version: '1.0.0+anything' },
  ]);
  assert.deepEqual(
    found.map((c) => `${c.name} ${c.version} (${c.crate})`),
    ['curl 8.6.0 (curl-sys 0.4.72+curl-8.6.0)', 'jemalloc 5.3.0 (tikv-jemalloc-sys 0.5.4+5.3.0-patched)', 'openssl 1.1.1w (openssl-src 111.28.0+1.1.1w)', 'zstd 1.5.5 (zstd-sys 2.0.9+zstd.1.5.5)'],
  );
});

test('system-deps metadata: unconditional modules with their minimum version; feature-gated, optional and cfg tables left out', () => {
  const manifest = parse(`
[package]
name = "x-sys"
version = "0.1.0"
[package.metadata.system-deps]
glib = { name = "glib-2.0", version = "2.56" }
plain = "1.2"
anyversion = ""
opt = { version = "1", optional = true }
feat = { version = "1", feature = "v2" }
[package.metadata.system-deps.'cfg(target_os = "macos")']
macos-only = "1"
[package.metadata.system-deps.bad]
name = "bad name"
version = "1"
`);
  const { modules, unsafe } = systemDepsModules(manifest);
  assert.deepEqual(modules, [['glib-2.0', '2.56'], ['plain', '1.2'], ['anyversion', null]]);
  assert.deepEqual(unsafe, ['"bad name" "1"']);
});

/*
 * Crate names are untrusted text, and `constructor` or `toString` (both allowed by crates.io) name
 * Object.prototype's members: read from the tables of known -sys crates as entries, a crate named
 * `constructor` was taken for one carrying C sources, and packaging stopped on an internal error
 * ("Cannot read properties of undefined (reading 'test')").
 */
test("crates named after Object.prototype's members are no -sys crate: nothing carried, nothing required", () => {
  const packages = ['constructor', 'toString', '__proto__', 'hasOwnProperty'].map((name) => ({
    ecosystem: 'cargo' as const,
    name,
    version: '1.0.0+1.1.1w',
    source: 'registry+https://github.com/rust-lang/crates.io-index',
    checksum: null,
    path: `vendor/${name}`,
  }));
  const files = packages.map((p) => ({ path: `${p.path}/src/lib.rs`, mode: 0o644 as const, data: Buffer.from('') }));
  assert.deepEqual([...cratesWithoutCSources(files, packages)], []);
  assert.deepEqual(cargoBundledCLibraries(packages), []);
});
