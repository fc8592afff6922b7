import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb, unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';

/**
 * `stowage package rpm` with hostile values in the application's manifest and lockfile: each
 * is refused (exit 2, one line naming the file, the package and the field, nothing written)
 * before anything is downloaded, where it used to reach the spec as syntax (a `%post`
 * scriptlet run as root on install, a macro, a shell command). Applications without
 * registry dependencies, so nothing here needs the network; a real-world one still packages.
 */

const epoch = '1700000000';
const HAS_RPMBUILD = spawnSync('rpmbuild', ['--version']).status === 0;

const rustsecDb = (): string => unrelatedRustsecAdvisoryDb(tempDir('package-values-rustsec'));

/** An npm application with no registry dependencies; `lockPackages` adds lockfile entries. */
function npmApp(manifest: Record<string, unknown>, lockPackages: Record<string, unknown> = {}): string {
  const dir = tempDir('package-values-app');
  const pkg = { name: 'demo-app', version: '1.0.0', license: 'MIT', description: 'A demo.', ...manifest };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const root = { name: pkg.name, version: pkg.version, license: 'MIT' };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages: { '': root, ...lockPackages } }));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'tool.js'), '#!/usr/bin/env node\nconsole.log("hi");\n');
  writeFileSync(join(dir, 'LICENSE'), 'MIT\n');
  return dir;
}

async function packageRpm(dir: string, db: string, extra: string[] = []): Promise<{ status: number; stdout: string; stderr: string; out: string }> {
  const out = join(tempDir('package-values-out'), 'out');
  const result = await runCliAsync(['package', 'rpm', dir, '--db', db, '--no-fetch', '-o', out, ...extra], {
    cacheDir: tempDir('package-values-cache'),
    env: { SOURCE_DATE_EPOCH: epoch },
  });
  return { ...result, out };
}

/** Exit 2, one error line naming `file` and matching `pattern`, and no output directory. */
function assertRefused(result: Awaited<ReturnType<typeof packageRpm>>, file: string, pattern: RegExp): void {
  assert.equal(result.status, 2, result.stderr);
  const errors = result.stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
  assert.equal(errors.length, 1, `one error line:\n${result.stderr}`);
  // The file, then the line and column when the refusal comes from its reader.
  const where = (errors[0] ?? '').slice('stowage: '.length);
  assert.ok(where.startsWith(file) && /^(:\d+){0,2}: /.test(where.slice(file.length)), errors[0]);
  assert.match(errors[0] as string, pattern);
  assert.equal(existsSync(result.out), false, 'nothing written');
}

describe('package rpm refuses values that would become spec syntax', () => {
  const db = unrelatedNpmAdvisoryDb(tempDir('package-values-db'));

  test('a description that injects a %post scriptlet (it was built, and ran as root on install)', async () => {
    const dir = npmApp({ description: 'A tool.\n%post\necho pwned > /tmp/pwned' });
    assertRefused(await packageRpm(dir, db), join(dir, 'package.json'), /cannot be written into an RPM spec: %description: line 2 \("%post"\) starts with "%"/);
  });

  test('a lockfile entry whose name holds a newline and %post', async () => {
    const dir = npmApp(
      { dependencies: { ms: '2.1.3' } },
      {
        'node_modules/ms': {
          name: 'ms\n%post\necho pwned',
          version: '2.1.3',
          resolved: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz',
          integrity: 'sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==',
          license: 'MIT',
        },
      },
    );
    // Whoever refuses it (the lockfile reader may, too), the line names the lockfile and the package.
    assertRefused(await packageRpm(dir, db), join(dir, 'package-lock.json'), /ms\\n%post\\necho pwned/);
  });

  test('a lockfile version holding a macro that runs a shell command', async () => {
    const dir = npmApp(
      { dependencies: { ms: '2.1.3' } },
      {
        'node_modules/ms': {
          version: '2.1.3%(touch /tmp/pwned)',
          resolved: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz',
          integrity: 'sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==',
        },
      },
    );
    // The lockfile reader refuses it first: the tarball it resolves is ms@2.1.3, not this version
    // (rpm-values.test.ts shows the spec's own check refusing such a version too).
    assertRefused(await packageRpm(dir, db), join(dir, 'package-lock.json'), /"version" is 2\.1\.3%\(touch \/tmp\/pwned\) but "resolved" is the tarball of ms@2\.1\.3/);
  });

  test("the application's version, home page and bin script", async () => {
    let dir = npmApp({ version: '1.0.0%(id)' });
    assertRefused(await packageRpm(dir, db), join(dir, 'package.json'), /Version: version "1\.0\.0%\(id\)" is not a semantic version/);
    dir = npmApp({ homepage: 'https://example.invalid/"\n%post\nid' });
    assertRefused(await packageRpm(dir, db), join(dir, 'package.json'), /URL: .* holds characters a URL cannot/);
    dir = npmApp({ bin: { tool: 'bin/$(id).js' } });
    assertRefused(await packageRpm(dir, db), join(dir, 'package.json'), /binary "tool" script: "bin\/\$\(id\)\.js" is not a plain relative path/);
    dir = npmApp({ bin: { 'tool;id': 'bin/tool.js' } });
    assertRefused(await packageRpm(dir, db), join(dir, 'package.json'), /bin name "tool;id" cannot be installed safely/);
    dir = npmApp({ name: 'demo\n%post' });
    assert.equal((await packageRpm(dir, db)).status, 2);
  });

  test('a Cargo.lock crate whose name holds a newline and %post', async () => {
    const dir = tempDir('package-values-cargo');
    writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "demo"\nversion = "0.1.0"\nlicense = "MIT"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\n');
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'main.rs'), 'fn main() {}\n');
    writeFileSync(
      join(dir, 'Cargo.lock'),
      '# This file is automatically @generated by Cargo.\nversion = 3\n\n' +
        '[[package]]\nname = "demo"\nversion = "0.1.0"\ndependencies = [\n "itoa\\n%post\\nid",\n]\n\n' +
        '[[package]]\nname = "itoa\\n%post\\nid"\nversion = "1.0.1"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n' +
        `checksum = "${'a'.repeat(64)}"\n`,
    );
    const result = await packageRpm(dir, rustsecDb());
    assertRefused(result, join(dir, 'Cargo.lock'), /itoa\\n%post\\nid/);
  });
});

describe('a real-world application still packages', { skip: HAS_RPMBUILD || process.env.CI === 'true' ? false : 'rpmbuild is not installed (Debian package rpm)' }, () => {
  test('scoped name, pre-release and build metadata, % and a blank line in the description, a ./ bin script', async () => {
    const dir = npmApp({
      name: '@acme/tool',
      version: '1.0.0-rc.1+build.5',
      description: 'Counts 100% of %{name}.\n\nSecond paragraph, %(not run).',
      homepage: 'https://example.invalid/tool?q=a%20b',
      bin: { tool: './bin/tool.js' },
    });
    const result = await packageRpm(dir, unrelatedNpmAdvisoryDb(tempDir('package-values-db')), ['--srpm']);
    assert.equal(result.status, 0, result.stderr);
    const srpm = join(result.out, 'acme-tool-1.0.0~rc.1+build.5-1.src.rpm');
    const query = spawnSync('rpm', ['-qp', '--qf', '%{NAME}|%{VERSION}|%{URL}|%{SUMMARY}|%{DESCRIPTION}', srpm], { encoding: 'utf8' });
    assert.equal(query.status, 0, query.stderr);
    assert.equal(
      query.stdout,
      'acme-tool|1.0.0~rc.1+build.5|https://example.invalid/tool?q=a%20b|Counts 100% of %{name}. Second paragraph, %(not run).|Counts 100% of %{name}.\n\nSecond paragraph, %(not run).',
    );
    const spec = readFileSync(join(result.out, 'acme-tool.spec'), 'utf8');
    assert.match(spec, /^ln -s \.\.\/lib\/node_modules\/acme-tool\/bin\/tool\.js %\{buildroot\}%\{_bindir\}\/tool$/m);
  });
});
