import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cargoBinary } from './rust-app.js';
import { tempDir } from './shared.js';

/**
 * Real shipped artifacts for the tests of `stowage audit` on packages and images: a real Rust
 * binary found on this machine (rustup's, which cargo is a link to: built by cargo from
 * crates.io, without a .dep-v0 section), and packages made around it with the distributions'
 * own tools (dpkg-deb, rpmbuild).
 */

/** A real Rust executable: the rustup binary behind `cargo`. */
export function realRustBinary(): string {
  return realpathSync(cargoBinary());
}

/** Debian's own Rust application packages, downloaded by .ci/run (`apt-get download`); null when not given. */
export function testDebs(): string[] | null {
  const dir = process.env.STOWAGE_TEST_DEBS;
  if (!dir) return null;
  return readdirSync(dir).filter((f) => f.endsWith('.deb')).sort().map((f) => join(dir, f));
}

/** Why the real-package tests are skipped here; in CI (CI=true) they must run, so null there. */
export function whyNoTestDebs(): string | false {
  if (testDebs() !== null) return false;
  if (process.env.CI === 'true') throw new Error('STOWAGE_TEST_DEBS is not set: .ci/run downloads Debian packages into it');
  return 'STOWAGE_TEST_DEBS not set (.ci/run downloads ripgrep, fd-find, bat and hyperfine into it)';
}

/** A `.deb` built by dpkg-deb with these control fields and files (path -> source file). */
export function buildDeb(options: { name: string; version: string; fields: Record<string, string>; files: Record<string, string>; compression: 'gzip' | 'xz' | 'zstd' | 'none' }): string {
  const root = tempDir('deb-root');
  mkdirSync(join(root, 'DEBIAN'));
  const control = [`Package: ${options.name}`, `Version: ${options.version}`, 'Architecture: amd64', 'Maintainer: Test <test@example.org>', 'Description: test package', ...Object.entries(options.fields).map(([k, v]) => `${k}: ${v}`)];
  writeFileSync(join(root, 'DEBIAN', 'control'), `${control.join('\n')}\n`);
  for (const [path, source] of Object.entries(options.files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    copyFileSync(source, join(root, path));
    chmodSync(join(root, path), 0o755);
  }
  const out = join(tempDir('deb-out'), `${options.name}_${options.version}_amd64.deb`);
  // The fastest level of each: the binary is large, and what is tested is the reading.
  const level = options.compression === 'none' ? [] : ['-z1'];
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${options.compression}`, ...level, '--build', root, out], { stdio: 'ignore' });
  return out;
}

/** A binary RPM built by rpmbuild from a spec with these provides, installing `binary` as /usr/bin/tool. */
export function buildRpm(options: { provides: string[]; binary: string | null; payload: 'gzip' | 'xz' | 'zstd' }): string {
  const top = tempDir('rpm-top');
  mkdirSync(join(top, 'SOURCES'), { recursive: true });
  if (options.binary) copyFileSync(options.binary, join(top, 'SOURCES', 'tool'));
  const spec = [
    'Name: shipped-demo',
    'Version: 1.0',
    'Release: 1',
    'Summary: test package',
    'License: MIT',
    ...(options.binary ? ['Source0: tool'] : []),
    ...options.provides.map((p) => `Provides: ${p}`),
    '%global debug_package %{nil}',
    '%global __strip /bin/true',
    '%global __brp_strip /bin/true',
    '%description',
    'test package',
    '%install',
    options.binary ? 'install -Dpm 0755 %{SOURCE0} %{buildroot}/usr/bin/tool' : 'mkdir -p %{buildroot}/usr/share/doc/shipped-demo && echo doc > %{buildroot}/usr/share/doc/shipped-demo/README',
    '%files',
    options.binary ? '/usr/bin/tool' : '/usr/share/doc/shipped-demo/README',
    '',
  ];
  writeFileSync(join(top, 'demo.spec'), spec.join('\n'));
  const io = { gzip: 'w1.gzdio', xz: 'w1.xzdio', zstd: 'w1.zstdio' }[options.payload];
  execFileSync('rpmbuild', ['-bb', '--nodeps', '--define', `_topdir ${top}`, '--define', `_binary_payload ${io}`, join(top, 'demo.spec')], { stdio: 'ignore' });
  const arch = readdirSync(join(top, 'RPMS'))[0] as string;
  return join(top, 'RPMS', arch, readdirSync(join(top, 'RPMS', arch))[0] as string);
}
