import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'smol-toml';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { vendorCargo } from '../../src/vendoring/cargo.js';
import { ContentCache } from '../../src/vendoring/content-cache.js';
import { Downloader } from '../../src/vendoring/download.js';
import type { VendorResult } from '../../src/vendoring/vendor-tree.js';
import { runCargo } from '../support/rust-app.js';
import { tempDir, writeFiles } from '../support/shared.js';
import { debianCrate, SparseRegistry } from '../support/sparse-registry.js';

/*
 * Extracting the archive at the application's root replaces the project's own Cargo
 * configuration with the archive's. A project configured in the legacy `.cargo/config` (which
 * Cargo reads in preference to `.cargo/config.toml`, and which stowage itself reads to find the
 * project's registry) used to get a `.cargo/config.toml` Cargo ignored: the offline build went
 * to the project's registry and failed. And whatever else the project's file set (here
 * `[build] rustflags`, without which this application does not compile) was lost.
 */

let registry: SparseRegistry;
let project: string;
const warnings: string[] = [];
let result: VendorResult;

const MAIN_RS = [
  '#[cfg(not(stowage_flag))]',
  'compile_error!("built without the project\'s [build] rustflags");',
  'fn main() {',
  '    println!("{}", itoa::Buffer::new().format(42));',
  '}',
  '',
].join('\n');

before(async () => {
  registry = await SparseRegistry.start([debianCrate('itoa-1.0.1')]);
  project = join(tempDir('cargo-legacy-config'), 'app');
  mkdirSync(join(project, 'src'), { recursive: true });
  mkdirSync(join(project, '.cargo'));
  writeFileSync(join(project, 'Cargo.toml'), '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\n');
  writeFileSync(join(project, 'src', 'main.rs'), MAIN_RS);
  writeFileSync(
    join(project, '.cargo', 'config'),
    [
      '# the project mirror, and a flag the code needs',
      '[source.crates-io]',
      'replace-with = "mirror"',
      '[source.mirror]',
      `registry = "sparse+${registry.indexUrl}"`,
      '',
      '[build]',
      'rustflags = ["--cfg", "stowage_flag"]',
      '',
      '[registries.corp]',
      'index = "sparse+https://corp.invalid/index/"',
      'token = "s3cret"',
      '',
    ].join('\n'),
  );
  await runCargo(['generate-lockfile'], { cwd: project, cargoHome: tempDir('cargo-home-lock') });
  const [location] = findLockfiles(project);
  assert.ok(location);
  const graph = await readDependencyGraph(location);
  const downloader = new Downloader({ cache: new ContentCache(tempDir('cargo-legacy-cache')), backoffMs: 5, concurrency: 2 });
  result = await vendorCargo(graph, { projectDir: project, downloader, warn: (m) => warnings.push(m), env: {} });
});

after(async () => {
  await registry.close();
});

test("the archive's configuration is the file Cargo reads, with the project's settings and without its credentials", () => {
  const configs = result.files.filter((f) => f.path.startsWith('.cargo/')).map((f) => f.path);
  assert.deepEqual(configs, ['.cargo/config'], 'the legacy name, which Cargo prefers to config.toml');
  const text = result.files.find((f) => f.path === '.cargo/config')?.data.toString('utf8') ?? '';
  const doc = parse(text) as { build: { rustflags: string[] }; registries: { corp: Record<string, string> }; source: Record<string, Record<string, string>> };
  assert.deepEqual(doc.build.rustflags, ['--cfg', 'stowage_flag']);
  assert.deepEqual({ ...doc.registries.corp }, { index: 'sparse+https://corp.invalid/index/' });
  assert.ok(!text.includes('s3cret'));
  assert.deepEqual(Object.keys(doc.source).sort(), ['crates-io', 'vendored-sources'], "the project's mirror gives way to the vendored sources");
  assert.ok(text.endsWith('[source.crates-io]\nreplace-with = "vendored-sources"\n\n[source.vendored-sources]\ndirectory = "vendor"\n'));
  assert.deepEqual(warnings, [
    `${join(project, '.cargo', 'config')}: credentials (registries.corp.token) left out of the archive's Cargo configuration; an offline build needs none`,
  ]);
});

test('extracted over a checkout of the project, it builds offline with an empty CARGO_HOME', async () => {
  await registry.close();
  const copy = join(tempDir('cargo-legacy-build'), 'app');
  cpSync(project, copy, { recursive: true, filter: (src) => !src.includes(`${project}/target`) });
  writeFiles(copy, result.files);
  const cargoHome = tempDir('cargo-home-offline');
  try {
    await runCargo(['build', '--offline', '--frozen'], { cwd: copy, cargoHome });
    assert.deepEqual(readdirSync(cargoHome).filter((n) => n === 'registry'), [], 'nothing fetched');
  } finally {
    rmSync(join(copy, 'target'), { recursive: true, force: true });
  }
});
