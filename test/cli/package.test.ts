import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cargoBinary, createRustApp, rustAppCrates, type RustApp } from '../support/rust-app.js';
import { SparseRegistry } from '../support/sparse-registry.js';
import { runCli, runCliAsync, tempDir, sha256OfFile } from '../support/shared.js';
import { auditReport } from '../support/audit-report.js';
import { dumpDepV0 } from '../support/dep-v0-reader.js';
import { rustsecAdvisoryDb, unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';

/**
 * The proof of `stowage package rpm`: the Rust application of the vendoring tests, locked
 * against a registry on 127.0.0.1 and a local git repository, packaged as a source RPM; the
 * registry is then stopped and `rpmbuild --rebuild` builds and tests the application from the
 * SRPM alone. Needs the Debian packages `rpm` (rpmbuild, rpm2archive) and `zstd`, and cargo.
 */

let registry: SparseRegistry | null;
let app: RustApp;
const cacheDir = tempDir('package-cli-cache');
const epoch = '1700000000';

const advisoryDb = (): string => unrelatedRustsecAdvisoryDb(tempDir('package-db'));

let db: string;

/** Asynchronous: the registry answers from this same process. */
function packageRpm(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return runCliAsync(['package', 'rpm', app.dir, '--db', db, '--no-fetch', ...args], { cacheDir, env: { SOURCE_DATE_EPOCH: epoch } });
}

/** The SRPM and its sources, made once in before(): the tests that read them pass run alone. */
let built: { dir: string; srpm: string; stdout: string };

before(async () => {
  registry = await SparseRegistry.start(rustAppCrates());
  app = await createRustApp(registry.indexUrl);
  db = advisoryDb();
  const dir = join(tempDir('package-a'), 'out');
  const made = await packageRpm(['-o', dir, '--srpm', '--license', 'stowage-demo=MIT']);
  assert.equal(made.status, 0, made.stderr);
  built = { dir, srpm: join(dir, 'stowage-demo-0.1.0-1.src.rpm'), stdout: made.stdout };
});

after(async () => {
  await registry?.close();
  rmSync(dirname(app.dir), { recursive: true, force: true });
  rmSync(app.cargoHome, { recursive: true, force: true });
});

const CRATES = ['cfg-if 1.0.0', 'either 1.6.1', 'fnv 1.0.7', 'greeting 0.3.0', 'hex 0.4.3', 'itertools 0.10.3', 'itoa 0.4.8', 'itoa 1.0.1', 'shouty 0.2.1'];

test('an application without a licence stops packaging, naming it, and writes nothing', async () => {
  const out = join(tempDir('package-missing'), 'out');
  const result = await packageRpm(['-o', out]);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /^stowage: no SPDX licence for 1 package: stowage-demo 0\.1\.0 \(the application: no license in Cargo\.toml\); state each with --license/m);
  const errors = result.stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
  assert.equal(errors.length, 1, `one error line:\n${result.stderr}`);
  assert.equal(existsSync(out), false);

  const bad = await packageRpm(['-o', out, '--license', 'stowage-demo=MIT ANDD GPL']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--license stowage-demo=MIT ANDD GPL: "MIT ANDD GPL" is not a valid SPDX licence expression/);
});

test('package rpm --srpm writes the spec, its sources and a source RPM, byte-identical on a second run', async () => {
  const first = built.dir;
  const second = join(tempDir('package-b'), 'out');
  // Another user's umask must not change the bytes (the SRPM payload records file modes).
  const umask = process.umask(0o077);
  const b = await packageRpm(['-o', second, '--srpm', '--license', 'stowage-demo=MIT']).finally(() => process.umask(umask));
  assert.equal(b.status, 0, b.stderr);

  const files = readdirSync(first).sort();
  assert.deepEqual(files, [
    'stowage-demo-0.1.0-1.src.rpm',
    'stowage-demo-0.1.0-bundled-licenses.txt',
    'stowage-demo-0.1.0-vendor.tar.zst',
    'stowage-demo-0.1.0.cdx.json',
    'stowage-demo-0.1.0.dep-v0',
    'stowage-demo-0.1.0.tar.gz',
    'stowage-demo.spec',
  ]);
  for (const f of files) assert.equal(sha256OfFile(join(first, f)), sha256OfFile(join(second, f)), `${f} reproduces`);

  const spec = readFileSync(join(first, 'stowage-demo.spec'), 'utf8');
  assert.match(spec, /^Source0: +stowage-demo-0\.1\.0\.tar\.gz$/m);
  assert.match(spec, /^Source1: +stowage-demo-0\.1\.0-vendor\.tar\.zst$/m);
  assert.match(spec, /^cargo build --release --offline --frozen$/m);
  assert.match(spec, /^install -Dpm 0755 target\/release\/stowage-demo %\{buildroot\}%\{_bindir\}\/stowage-demo$/m);
  assert.match(spec, /^Source4: +stowage-demo-0\.1\.0\.dep-v0$/m);
  assert.match(spec, /^objcopy --add-section \.dep-v0=%\{SOURCE4\} %\{buildroot\}%\{_bindir\}\/stowage-demo$/m);
  assert.doesNotMatch(spec, /\/root|\.cargo\/bin|127\.0\.0\.1/, 'no host paths or registry URLs');

  // The source archive: the application's files under NAME-VERSION/, no build outputs.
  const listing = execFileSync('tar', ['-tzvf', join(first, 'stowage-demo-0.1.0.tar.gz')], { encoding: 'utf8' }).trim().split('\n');
  const names = listing.map((l) => l.split(/\s+/).pop());
  assert.deepEqual(names, [
    'stowage-demo-0.1.0/',
    'stowage-demo-0.1.0/.cargo/',
    'stowage-demo-0.1.0/.cargo/config.toml',
    'stowage-demo-0.1.0/Cargo.lock',
    'stowage-demo-0.1.0/Cargo.toml',
    'stowage-demo-0.1.0/src/',
    'stowage-demo-0.1.0/src/main.rs',
  ]);
  for (const line of listing) assert.match(line, / 0\/0 .* 2023-11-14 22:13 /, `owner 0, mtime SOURCE_DATE_EPOCH: ${line}`);

  const licences = readFileSync(join(first, 'stowage-demo-0.1.0-bundled-licenses.txt'), 'utf8');
  assert.match(licences, /^crate fnv 1\.0\.7: Apache-2\.0 OR MIT$/m);
  assert.match(licences, /^crate greeting 0\.3\.0: MIT$/m);
  assert.match(built.stdout, /License: /);
});

test('--vendor uses a verified archive, and refuses one that does not match the lockfile', async () => {
  const out = join(tempDir('package-vendor'), 'out');
  // The archive of the SRPM made in before() is the one vendoring would make.
  const archive = join(built.dir, 'stowage-demo-0.1.0-vendor.tar.zst');
  const ok = await packageRpm(['-o', out, '--vendor', archive, '--license', 'stowage-demo=MIT']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(sha256OfFile(join(out, 'stowage-demo.spec')), sha256OfFile(join(built.dir, 'stowage-demo.spec')));

  const bogus = join(tempDir('package-bogus'), 'bogus.tar.zst');
  writeFileSync(bogus, Buffer.from('not an archive'));
  const out2 = join(tempDir('package-vendor2'), 'out');
  const refused = await packageRpm(['-o', out2, '--vendor', bogus, '--license', 'stowage-demo=MIT']);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /bogus\.tar\.zst: not a vendor archive/);
  assert.equal(existsSync(out2), false);
});

test("--vendor passes the audit gate of this run's databases and policy, not the archive's own record of its audit", async () => {
  // The archive of before(), audited clean against a database that knew nothing of itoa.
  const archive = join(built.dir, 'stowage-demo-0.1.0-vendor.tar.zst');
  const knowing = rustsecAdvisoryDb(tempDir('package-vendor-db'), [{ id: 'RUSTSEC-2099-0001', package: 'itoa', title: 'itoa writes out of bounds' }]);
  const out = join(tempDir('package-vendor-gate'), 'out');
  const run = (extra: string[]) =>
    runCliAsync(['package', 'rpm', app.dir, '--db', knowing, '--no-fetch', '-o', out, '--vendor', archive, '--license', 'stowage-demo=MIT', ...extra], { cacheDir, env: { SOURCE_DATE_EPOCH: epoch } });
  const refused = await run([]);
  assert.equal(refused.status, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /refusing to vendor: 2 findings fail the audit policy \(RUSTSEC-2099-0001 itoa 0\.4\.8, RUSTSEC-2099-0001 itoa 1\.0\.1\)/);
  assert.equal(existsSync(out), false, 'nothing written');
  const accepted = await run(['--ignore', 'RUSTSEC-2099-0001=only formats trusted integers']);
  assert.equal(accepted.status, 0, accepted.stderr);
});

test('rpmbuild --rebuild builds and tests it with the registry stopped; the RPM declares every bundled crate and the combined licence', async () => {
  await registry?.close();
  registry = null;
  const top = tempDir('rpmbuild');
  const cargoDir = dirname(cargoBinary());
  const env = {
    ...process.env,
    PATH: `${cargoDir}${delimiter}${process.env.PATH ?? ''}`,
    // Nothing may be fetched: any proxy points nowhere.
    http_proxy: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    CARGO_NET_OFFLINE: 'true',
  };
  const build = spawnSync('rpmbuild', ['--rebuild', '--nodeps', '--define', `_topdir ${top}`, built.srpm], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(build.status, 0, `${build.stdout}\n${build.stderr}`);
  const output = `${build.stdout}\n${build.stderr}`;
  assert.match(output, /Executing\(%check\)/);
  assert.match(output, /test tests::summary_counts_sorts_and_greets \.\.\. ok/);

  const rpmDir = join(top, 'RPMS');
  const arch = readdirSync(rpmDir)[0] as string;
  const rpmFile = join(rpmDir, arch, readdirSync(join(rpmDir, arch)).find((f) => f.startsWith('stowage-demo-0.1.0-1')) as string);

  const provides = execFileSync('rpm', ['-qp', '--provides', rpmFile], { encoding: 'utf8' }).trim().split('\n');
  const bundled = provides.filter((p) => p.startsWith('bundled(')).sort();
  assert.deepEqual(
    bundled,
    CRATES.map((c) => {
      const [name, version] = c.split(' ');
      return `bundled(crate(${name})) = ${version}`;
    }).sort(),
  );

  const license = execFileSync('rpm', ['-qp', '--qf', '%{LICENSE}', rpmFile], { encoding: 'utf8' });
  assert.equal(license, 'MIT AND (Apache-2.0 OR MIT)');

  const files = execFileSync('rpm', ['-qpl', rpmFile], { encoding: 'utf8' }).trim().split('\n');
  assert.ok(files.includes('/usr/bin/stowage-demo'), files.join('\n'));
  assert.ok(files.includes('/usr/share/stowage-demo/stowage-demo-0.1.0.cdx.json'));
  assert.ok(files.some((f) => f.endsWith('/bundled-licenses.txt')));

  // The packaged binary runs and says what the application says.
  const root = tempDir('rpm-extract');
  execFileSync('sh', ['-c', 'rpm2archive - < "$1" | tar -xzf -', 'sh', rpmFile], { cwd: root });
  const run = execFileSync(join(root, 'usr', 'bin', 'stowage-demo'), { encoding: 'utf8' });
  assert.match(run, /HELLO, STOWAGE! .*the=2\/2/);
  const sbom = JSON.parse(readFileSync(join(root, 'usr', 'share', 'stowage-demo', 'stowage-demo-0.1.0.cdx.json'), 'utf8')) as {
    metadata: { component: { name: string; licenses: { expression: string }[] } };
    components: { name: string; version: string; licenses?: { expression: string }[] }[];
  };
  assert.equal(sbom.metadata.component.name, 'stowage-demo');

  // The installed binary carries a .dep-v0 section in cargo-auditable's format: read by an
  // independent reader (objcopy + Python's zlib and json), then audited by stowage.
  const installed = join(root, 'usr', 'bin', 'stowage-demo');
  const dep = dumpDepV0(installed);
  assert.ok(dep, 'the installed binary has a .dep-v0 section');
  const listed = dep.packages.map((p) => `${p.name} ${p.version} ${p.source}${p.root === true ? ' root' : ''}${p.kind === 'build' ? ' build' : ''}`);
  const gitCrates = new Set(['greeting', 'shouty']);
  assert.deepEqual(
    listed,
    [...CRATES.map((c) => `${c} ${gitCrates.has(c.split(' ')[0] as string) ? 'git' : 'crates.io'}`), 'stowage-demo 0.1.0 local root'].sort(),
  );
  const index = (name: string, version: string): number => dep.packages.findIndex((p) => p.name === name && p.version === version);
  const rootDeps = (dep.packages[index('stowage-demo', '0.1.0')]?.dependencies ?? []).map((i) => `${dep.packages[i]?.name} ${dep.packages[i]?.version}`);
  // As the fixture's Cargo.toml lists them (itoa_old is itoa 0.4).
  assert.deepEqual(rootDeps.sort(), ['cfg-if 1.0.0', 'fnv 1.0.7', 'greeting 0.3.0', 'hex 0.4.3', 'itertools 0.10.3', 'itoa 0.4.8', 'itoa 1.0.1']);
  const audit = runCli(['audit', installed, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir });
  assert.equal(audit.status, 0, audit.stderr);
  const report = auditReport(audit.stdout);
  assert.deepEqual(report.targets.map((t) => [t.inventory, t.partial, t.packages]), [['dep-v0', false, CRATES.length + 1]]);
  // The binary RPM itself, as a security team audits what a distribution ships: its bundled
  // provides and its installed binary's .dep-v0, side by side, both complete.
  const rpmAudit = runCli(['audit', rpmFile, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir });
  assert.equal(rpmAudit.status, 0, rpmAudit.stderr);
  const rpmReport = auditReport(rpmAudit.stdout);
  assert.deepEqual(
    rpmReport.targets.map((t) => [t.inventory, t.partial, t.packages]).sort(),
    // Each with the application as its root: the RPM's own name, the binary's root crate.
    [['bundled provides', false, CRATES.length + 1], ['dep-v0', false, CRATES.length + 1]],
  );
  assert.deepEqual(sbom.metadata.component.licenses, [{ expression: 'MIT' }]);
  assert.deepEqual(
    sbom.components.find((c) => c.name === 'hex')?.licenses,
    // As hex 0.4.3's Cargo.toml states it.
    [{ expression: 'MIT OR Apache-2.0' }],
  );
  rmSync(top, { recursive: true, force: true });
  rmSync(root, { recursive: true, force: true });
});
