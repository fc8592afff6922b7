import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { registryConfigToml, runCargo } from '../support/rust-app.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { debianCrate, SparseRegistry } from '../support/sparse-registry.js';

/*
 * A packager's build machine has no network to crates.io; its mirror is set once, where Cargo
 * reads it for every project: `$CARGO_HOME/config.toml` (or a parent directory's
 * `.cargo/config.toml`). cargo locked and built Debian's ripgrep, fd-find and exa that way, but
 * `stowage vendor` read the project's own `.cargo/config.toml` only, and failed on
 * `https://index.crates.io/…: ENOTFOUND` without a word about the mirror.
 */

let registry: SparseRegistry;
const work = tempDir('vendor-cargo-home-mirror');
const cargoHome = join(work, 'cargo-home');
const db = unrelatedRustsecAdvisoryDb(join(work, 'db'));

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** An application needing cfg-if and itoa, locked by cargo through the mirror of `cargoHome`. */
async function lockedApp(dir: string): Promise<string> {
  write(join(dir, 'Cargo.toml'), '[package]\nname = "mirrored"\nversion = "0.1.0"\nedition = "2021"\nlicense = "MIT"\n\n[dependencies]\ncfg-if = "1"\nitoa = "1"\n');
  write(join(dir, 'src', 'main.rs'), 'fn main() {}\n');
  await runCargo(['generate-lockfile'], { cwd: dir, cargoHome });
  return dir;
}

before(async () => {
  registry = await SparseRegistry.start([debianCrate('cfg-if-1.0.0'), debianCrate('itoa-1.0.1')]);
  write(join(cargoHome, 'config.toml'), registryConfigToml(registry.indexUrl));
});

after(async () => {
  await registry.close();
  rmSync(work, { recursive: true, force: true });
});

/** `stowage vendor` as the packager runs it: their CARGO_HOME, nothing else to reach. */
function vendor(dir: string, env: NodeJS.ProcessEnv): ReturnType<typeof runCliAsync> {
  // A cache of its own: every crate is downloaded.
  return runCliAsync(['vendor', dir, '--db', db, '--no-fetch'], {
    cacheDir: join(dir, '..', 'cache'),
    env: { https_proxy: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', ...env },
  });
}

test("the mirror in $CARGO_HOME/config.toml is where crates are downloaded from, and the archive does not name it", async () => {
  const app = await lockedApp(join(work, 'home-mirror', 'app'));
  const before = registry.crateDownloads.length;
  const run = await vendor(app, { CARGO_HOME: cargoHome });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(
    registry.crateDownloads.slice(before).map((r) => r.path).sort(),
    [SparseRegistry.downloadPath('cfg-if', '1.0.0'), SparseRegistry.downloadPath('itoa', '1.0.1')],
  );
  const config = execFileSync('tar', ['--zstd', '-xOf', join(app, 'vendor.tar.zst'), '.cargo/config.toml'], { encoding: 'utf8' });
  assert.equal(config, '[source.crates-io]\nreplace-with = "vendored-sources"\n\n[source.vendored-sources]\ndirectory = "vendor"\n');
});

test("a parent directory's .cargo/config.toml is read as cargo reads it, before CARGO_HOME's", async () => {
  const parent = join(work, 'parent-mirror');
  const app = await lockedApp(join(parent, 'apps', 'app'));
  write(join(parent, '.cargo', 'config.toml'), registryConfigToml(registry.indexUrl));
  // CARGO_HOME names a mirror that does not answer: the nearer file wins.
  const elsewhere = join(work, 'other-home');
  write(join(elsewhere, 'config.toml'), registryConfigToml('http://127.0.0.1:9/index/'));
  const before = registry.crateDownloads.length;
  const run = await vendor(app, { CARGO_HOME: elsewhere });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(registry.crateDownloads.length - before, 2);
});
