import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyAppSources, createRustApp, runCargo, rustAppCrates, type RustApp } from '../support/rust-app.js';
import { SparseRegistry } from '../support/sparse-registry.js';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb, unrelatedRustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { GHSA_NPM, NPM_CORPUS, runCliAsync, tempDir, sha256OfFile } from '../support/shared.js';
import { commitFiles, initRepository } from '../support/git-repository.js';
import { MANIFEST_PATH, readArchive } from '../../src/core/archive.js';
import { parseManifest } from '../../src/inputs/vendor-manifest.js';
import { archiveBytes } from '../../src/vendoring/vendor-app.js';

/**
 * `stowage vendor` as a packager runs it: the audit gate, the archive, offline builds from the
 * archive alone, reproducibility, verification, and failures that leave nothing behind.
 */

let registry: SparseRegistry;
let app: RustApp;
const cacheDir = tempDir('vendor-cli-cache');

/** A RustSec database with one advisory against a crate the app locks (itoa). */
function advisoryDb(): string {
  return rustsecAdvisoryDb(tempDir('vendor-db'), [{ id: 'RUSTSEC-2099-0001', package: 'itoa', title: 'itoa writes out of bounds' }]);
}

function vendor(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return runCliAsync(['vendor', ...args], { cacheDir, env });
}

const verify = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
  runCliAsync(['vendor', 'verify', ...args], { cacheDir });

before(async () => {
  registry = await SparseRegistry.start(rustAppCrates());
  app = await createRustApp(registry.indexUrl);
});

after(async () => {
  await registry?.close();
});

test('one accepted finding is "1 finding" in the summary (it said "1 findings")', async () => {
  const db = rustsecAdvisoryDb(tempDir('vendor-db-one'), [{ id: 'RUSTSEC-2099-0002', package: 'hex', title: 'hex decodes wrongly' }]);
  const out = join(tempDir('vendor-one'), 'vendor.tar.zst');
  const run = await vendor([app.dir, '--db', db, '--ignore', 'RUSTSEC-2099-0002=only encodes', '-o', out]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^ {2}audit: 1 finding, none failing the policy, 1 accepted \(reasons in stowage-manifest\.json\)$/m);
});

test('the audit gate refuses while a vulnerability is unaccepted, and records the accepted risk', async () => {
  const db = advisoryDb();
  const refused = await vendor([app.dir, '--db', db]);
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, /refusing to vendor: 2 findings fail the audit policy \(RUSTSEC-2099-0001 itoa 0\.4\.8, RUSTSEC-2099-0001 itoa 1\.0\.1\)/);
  assert.equal(existsSync(join(app.dir, 'vendor.tar.zst')), false, 'no archive while refused');

  const accepted = await vendor([app.dir, '--db', db, '--ignore', 'RUSTSEC-2099-0001=only formats trusted integers']);
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.match(accepted.stdout, /vendor\.tar\.zst: \d+ packages, \d+ files/);
  assert.match(accepted.stdout, /2 accepted \(reasons in stowage-manifest\.json\)/);
  const listing = execFileSync('tar', ['--zstd', '-xOf', join(app.dir, 'vendor.tar.zst'), 'stowage-manifest.json'], { encoding: 'utf8' });
  const manifest = JSON.parse(listing) as {
    lockfiles: { path: string; sha256: string }[];
    packages: { name: string; version: string; checksum: string | null }[];
    audit: { databases: { source: string; revision: string }[]; findings: { id: string; accepted: { reason: string } | null }[] };
  };
  assert.deepEqual(manifest.lockfiles.map((l) => [l.path, l.sha256]), [['Cargo.lock', sha256OfFile(app.lockfile)]]);
  assert.deepEqual(manifest.audit.findings.map((f) => [f.id, f.accepted?.reason]), [
    ['RUSTSEC-2099-0001', 'only formats trusted integers'],
    ['RUSTSEC-2099-0001', 'only formats trusted integers'],
  ]);
  assert.match(manifest.audit.databases[0]?.revision ?? '', /^sha256:/);
  // Expected: every registry package of the lockfile, read with a TOML library, not stowage's reader.
  const locked = (parseToml(readFileSync(app.lockfile, 'utf8')).package as { name: string; version: string; source?: string }[])
    .filter((p) => /^(registry|sparse)\+/.test(p.source ?? ''))
    .map((p) => `${p.name}@${p.version}`)
    .sort();
  assert.deepEqual(locked, ['cfg-if@1.0.0', 'either@1.6.1', 'fnv@1.0.7', 'hex@0.4.3', 'itertools@0.10.3', 'itoa@0.4.8', 'itoa@1.0.1']);
  const vendored = manifest.packages.filter((p) => p.checksum !== null).map((p) => `${p.name}@${p.version}`).sort();
  assert.deepEqual(vendored, locked);
  const sbom = JSON.parse(execFileSync('tar', ['--zstd', '-xOf', join(app.dir, 'vendor.tar.zst'), 'stowage-sbom.cdx.json'], { encoding: 'utf8' })) as {
    bomFormat: string;
    specVersion: string;
    components: { name: string; version: string; purl: string; licenses?: unknown[] }[];
  };
  assert.equal(sbom.bomFormat, 'CycloneDX');
  assert.equal(sbom.specVersion, '1.6');
  const itoa = sbom.components.find((c) => c.name === 'itoa' && c.version === '1.0.1');
  assert.equal(itoa?.purl, 'pkg:cargo/itoa@1.0.1');
  assert.ok(itoa?.licenses && itoa.licenses.length > 0, 'licences read from the vendored Cargo.toml');
  // What shipped is audited again from the archive alone (its SBOM): the accepted finding is back.
  const again = await runCliAsync(['audit', join(app.dir, 'vendor.tar.zst'), '--db', db, '--format', 'json'], { cacheDir });
  assert.equal(again.status, 1, again.stderr);
  const reaudit = auditReport(again.stdout);
  assert.equal(reaudit.targets[0]?.format, 'CycloneDX 1.6 SBOM');
  assert.deepEqual(reaudit.findings.map((f) => `${f.advisory.id} ${f.package.version}`).sort(), ['RUSTSEC-2099-0001 0.4.8', 'RUSTSEC-2099-0001 1.0.1']);
  rmSync(join(app.dir, 'vendor.tar.zst'));
});

test('the archive does not depend on the build machine: another directory, cache, database path and day give the same bytes', async () => {
  const ignore = ['--ignore', 'RUSTSEC-2099-0001=only formats trusted integers'];
  const build = async (label: string, now: string): Promise<string> => {
    // The application and its database copied under other paths, with a cache of its own.
    const where = tempDir(`vendor-machine-${label}`);
    const dir = join(where, 'checkout');
    cpSync(app.dir, dir, { recursive: true });
    const db = rustsecAdvisoryDb(join(where, 'advisory-db'), [{ id: 'RUSTSEC-2099-0001', package: 'itoa', title: 'itoa writes out of bounds' }]);
    const out = join(where, 'deps.tar.zst');
    const r = await runCliAsync(['vendor', dir, '--db', db, ...ignore, '-o', out], { cacheDir: tempDir(`vendor-machine-cache-${label}`), cwd: where, env: { STOWAGE_NOW: now } });
    assert.equal(r.status, 0, r.stderr);
    return out;
  };
  const first = await build('a', '2099-01-02');
  const second = await build('b', '2099-06-30');
  assert.equal(sha256OfFile(second), sha256OfFile(first));
  const manifest = execFileSync('tar', ['--zstd', '-xOf', first, 'stowage-manifest.json'], { encoding: 'utf8' });
  assert.doesNotMatch(manifest, /vendor-machine/, 'no path of the build machine (the git URL the lockfile records is an input)');
  assert.match(manifest, /"source": "advisory-db"/, 'a local database by its directory name');
});

test('vendoring with a database that cannot be read stops before anything is written: exit 2', async () => {
  const where = tempDir('vendor-bad-db');
  const out = join(where, 'deps.tar.zst');
  const notADatabase = join(where, 'empty');
  mkdirSync(notADatabase);
  const r = await vendor([app.dir, '--db', notADatabase, '-o', out]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /empty/);
  assert.deepEqual(readdirSync(where), ['empty']);
});

test('the archive alone builds and tests the application offline, and reproduces byte for byte', async () => {
  const db = unrelatedRustsecAdvisoryDb(tempDir('vendor-clean-db'));
  const out = join(tempDir('vendor-out'), 'deps.tar.zst');
  const first = await vendor([app.dir, '--db', db, '-o', out]);
  assert.equal(first.status, 0, first.stderr);
  const firstSha = sha256OfFile(out);
  const downloadsBefore = registry.crateDownloads.length;

  const again = join(tempDir('vendor-out2'), 'deps.tar.zst');
  const second = await vendor([app.dir, '--db', db, '-o', again]);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(sha256OfFile(again), firstSha, 'same inputs, same bytes');
  assert.equal(registry.crateDownloads.length, downloadsBefore, 'the second run downloads nothing');
  assert.match(second.stdout, /downloaded 0 \(0\.0 KiB\), \d+ from the cache/);

  const epoch = join(tempDir('vendor-out3'), 'deps.tar.zst');
  assert.equal((await vendor([app.dir, '--db', db, '-o', epoch], { SOURCE_DATE_EPOCH: '1700000000' })).status, 0);
  assert.notEqual(sha256OfFile(epoch), firstSha, 'SOURCE_DATE_EPOCH is the archive mtime');
  assert.match(execFileSync('tar', ['--zstd', '-tvf', epoch], { encoding: 'utf8' }).split('\n')[0] ?? '', /0\/0 .* 2023-11-1[45] /);

  const gz = join(tempDir('vendor-gz'), 'deps.tar.gz');
  assert.equal((await vendor([app.dir, '--db', db, '-o', gz])).status, 0);
  execFileSync('gzip', ['-t', gz]);

  // A fresh checkout: sources and lockfile only, then the archive extracted at its root.
  const fresh = copyAppSources(app.git);
  copyFileSync(app.lockfile, join(fresh, 'Cargo.lock'));
  execFileSync('tar', ['--zstd', '-xf', out, '-C', fresh]);
  assert.ok(existsSync(join(fresh, '.cargo', 'config.toml')));
  assert.ok(readdirSync(join(fresh, 'vendor')).length >= 4);
  await registry.close();
  const cargoHome = tempDir('vendor-cargo-home');
  await runCargo(['build', '--offline', '--frozen'], { cwd: fresh, cargoHome });
  const tested = await runCargo(['test', '--offline', '--frozen'], { cwd: fresh, cargoHome });
  assert.match(tested.stdout + tested.stderr, /test result: ok\. [1-9]\d* passed/);

  // verify: reproduces from the content cache (registry is down), then catches tampering.
  const verified = await verify([out, app.dir]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /verified: \d+ packages, \d+ files; every checksum holds and a rebuild reproduces the archive byte for byte/);

  const tamperDir = tempDir('vendor-tamper');
  execFileSync('tar', ['--zstd', '-xf', out, '-C', tamperDir]);
  const victim = readdirSync(join(tamperDir, 'vendor')).sort()[0] as string;
  writeFileSync(join(tamperDir, 'vendor', victim, 'Cargo.toml'), '# tampered\n', { flag: 'a' });
  const tampered = join(tempDir('vendor-tampered'), 'deps.tar.zst');
  execFileSync('tar', ['--zstd', '--sort=name', '-cf', tampered, '-C', tamperDir, '.']);
  const caught = await verify([tampered, app.dir]);
  assert.equal(caught.status, 1, caught.stdout + caught.stderr);
  // Exactly the one file changed is reported: a verify that flagged every file would fail here.
  const differing = caught.stdout.split('\n').filter((l) => /content differs/.test(l));
  assert.deepEqual(differing.map((l) => l.trim()), [`vendor/${victim}/Cargo.toml: content differs from a rebuild from the lockfile`]);

  const changedApp = tempDir('vendor-changed');
  copyFileSync(app.lockfile, join(changedApp, 'Cargo.lock'));
  writeFileSync(join(changedApp, 'Cargo.lock'), '\n', { flag: 'a' });
  const stale = await verify([out, changedApp]);
  assert.equal(stale.status, 1);
  assert.match(stale.stdout, /Cargo\.lock: changed since the archive was made/);
});

test("verify does not vouch for the manifest's audit record: a forged one, written as stowage writes archives, is said to be the archive's claim", async () => {
  const db = unrelatedRustsecAdvisoryDb(tempDir('vendor-forged-db'));
  const made = join(tempDir('vendor-forged'), 'deps.tar.zst');
  assert.equal((await vendor([app.dir, '--db', db, '-o', made])).status, 0);
  const files = await readArchive(readFileSync(made), made);
  const manifest = parseManifest(files.find((f) => f.path === MANIFEST_PATH)?.data ?? Buffer.alloc(0), made);
  assert.deepEqual(manifest.audit.findings, []);
  // The claim of an audit no database made: an accepted risk, and a database that was never read.
  manifest.audit.databases = [{ source: 'https://example.invalid/forged-db.git', revision: 'f'.repeat(40), revisionDate: '2099-01-01T00:00:00Z', advisories: 0 }];
  manifest.audit.findings = [{ id: 'RUSTSEC-2099-0001', aliases: [], kind: 'vulnerability', package: 'itoa', version: '1.0.1', severity: 'low', accepted: { reason: 'forged', expires: null, origin: 'nobody' } }];
  const forged = join(tempDir('vendor-forged-out'), 'deps.tar.zst');
  writeFileSync(forged, (await archiveBytes(files.filter((f) => f.path !== MANIFEST_PATH), manifest, forged)).bytes);
  const verified = await verify([forged, app.dir]);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  assert.match(verified.stdout, /^ {2}not checked: its manifest's audit record \(1 finding\) is the archive's own claim; `stowage audit .*deps\.tar\.zst` audits what it holds$/m);
});

test("verify's suggested `stowage audit PATH` is one word in a POSIX shell, whatever the archive's name holds", async () => {
  const db = unrelatedRustsecAdvisoryDb(tempDir('vendor-quoted-db'));
  const made = join(tempDir('vendor-quoted'), 'deps.tar.zst');
  assert.equal((await vendor([app.dir, '--db', db, '-o', made])).status, 0);
  for (const name of ["my deps (it's $HOME; `id`).tar.zst", 'plain-deps.tar.zst']) {
    const archive = join(tempDir('vendor-quoted-copy'), name);
    copyFileSync(made, archive);
    const verified = await verify([archive, app.dir]);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    const command = /^ {2}not checked: .*; `(stowage audit .*)` audits what it holds$/m.exec(verified.stdout)?.[1];
    assert.ok(command, verified.stdout);
    if (name.startsWith('plain')) assert.equal(command, `stowage audit ${archive}`, 'a plain path is left as it is');
    // Run by sh with `stowage audit` standing for a command printing its arguments: the path, whole, as one.
    const words = execFileSync('sh', ['-c', command.replace(/^stowage audit /, "printf '[%s]\\n' ")], { encoding: 'utf8' });
    assert.equal(words, `[${archive}]\n`);
  }
});

/** Regular files in an archive, as tar lists them. */
function archivedFiles(archive: string): number {
  return execFileSync('tar', ['--zstd', '-tvf', archive], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('-')).length;
}

/** The mtime tar shows for the archive's first entry, `YYYY-MM-DD HH:MM`, in UTC. */
function firstMtime(archive: string): string {
  const line = execFileSync('tar', ['--zstd', '-tvf', archive], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).split('\n')[0] ?? '';
  return /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.exec(line)?.[0] ?? line;
}

test('with no variable set the archive is dated by the last commit (else 1980), the same bytes at any time; vendor, verify and tar count the same files', async () => {
  const db = unrelatedRustsecAdvisoryDb(tempDir('vendor-epoch-db'));
  const plain = join(tempDir('vendor-plain'), 'deps.tar.zst');
  const made = await vendor([app.dir, '--db', db, '-o', plain], { SOURCE_DATE_EPOCH: '' });
  assert.equal(made.status, 0, made.stderr);
  assert.equal(firstMtime(plain), '1980-01-01 00:00', 'not a checkout: the fixed epoch');
  const files = archivedFiles(plain);
  assert.match(made.stdout, new RegExp(`: \\d+ packages, ${files} files, `));
  const verified = await verify([plain, app.dir]);
  assert.match(verified.stdout, new RegExp(`verified: \\d+ packages, ${files} files;`));

  // The same application as a git checkout, committed at a known time.
  const checkout = tempDir('vendor-checkout');
  execFileSync('cp', ['-a', `${app.dir}/.`, checkout]);
  initRepository(checkout);
  commitFiles(checkout, {}, 'app', { GIT_COMMITTER_DATE: '2021-03-04T05:06:07Z', GIT_AUTHOR_DATE: '2021-03-04T05:06:07Z' });
  const first = join(tempDir('vendor-git1'), 'deps.tar.zst');
  assert.equal((await vendor([checkout, '--db', db, '-o', first], { SOURCE_DATE_EPOCH: '' })).status, 0);
  assert.equal(firstMtime(first), '2021-03-04 05:06');
  // Later, on another run: the clock has moved, the bytes have not.
  await new Promise((r) => setTimeout(r, 1100));
  const second = join(tempDir('vendor-git2'), 'deps.tar.zst');
  assert.equal((await vendor([checkout, '--db', db, '-o', second], { SOURCE_DATE_EPOCH: '' })).status, 0);
  assert.equal(sha256OfFile(second), sha256OfFile(first));
  // SOURCE_DATE_EPOCH still wins over the commit.
  const given = join(tempDir('vendor-git3'), 'deps.tar.zst');
  assert.equal((await vendor([checkout, '--db', db, '-o', given], { SOURCE_DATE_EPOCH: '1700000000' })).status, 0);
  assert.match(firstMtime(given), /^2023-11-14 22:13$/);
});

test('vendor --omit dev: the gate judges what ships, so development-only findings do not refuse it', async () => {
  // jellyfin-web 2025-03-01 against GitHub's advisories: ten findings, one of them (node-fetch,
  // through jsdom → canvas) at run time; the gate refuses before anything is downloaded.
  const dir = tempDir('vendor-omit');
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json'), join(dir, 'package-lock.json'));
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package.json'), join(dir, 'package.json'));
  const all = await vendor([dir, '--db', GHSA_NPM]);
  assert.equal(all.status, 1, all.stderr);
  assert.match(all.stderr, /refusing to vendor: 10 findings fail the audit policy/);
  const shipped = await vendor([dir, '--db', GHSA_NPM, '--omit', 'dev']);
  assert.equal(shipped.status, 1, shipped.stderr);
  assert.match(shipped.stderr, /refusing to vendor: 1 finding fails the audit policy \(GHSA-r683-j2x4-v87g node-fetch 2\.6\.9\)/);
  assert.equal(existsSync(join(dir, 'vendor.tar.zst')), false);
});

test('a failed vendoring leaves no archive, and bad arguments are one line with exit 2', async () => {
  const broken = tempDir('vendor-broken');
  writeFileSync(join(broken, 'Cargo.lock'), 'version = 4\n[[package]]\nname = "x"\n');
  const out = join(broken, 'vendor.tar.zst');
  const bad = await vendor([broken, '--db', tempDir('vendor-nodb'), '-o', out]);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.equal(existsSync(out), false);
  const wrongExt = await vendor([app.dir, '-o', join(broken, 'deps.zip')]);
  assert.equal(wrongExt.status, 2);
  assert.match(wrongExt.stderr, /deps\.zip/);
  const notArchive = join(broken, 'junk.tar.zst');
  writeFileSync(notArchive, 'not an archive');
  const junk = await verify([notArchive, app.dir]);
  assert.equal(junk.status, 2);
  assert.match(junk.stderr, /junk\.tar\.zst/);
});

test('a vendoring that fails after downloads began leaves no archive and no temporary file', async () => {
  // A registry of its own, serving a tampered itoa 1.0.1: the other crates download first.
  const reg = await SparseRegistry.start(rustAppCrates());
  try {
    const failing = await createRustApp(reg.indexUrl);
    reg.tamper('itoa', '1.0.1', Buffer.from('not the crate the index describes'));
    const outDir = tempDir('vendor-fail-out');
    const result = await runCliAsync(['vendor', failing.dir, '--db', unrelatedRustsecAdvisoryDb(tempDir('vendor-fail-db')), '-o', join(outDir, 'deps.tar.zst')], {
      cacheDir: tempDir('vendor-fail-cache'),
    });
    assert.equal(result.status, 2, result.stdout + result.stderr);
    // Progress lines come first; the error is one line.
    const lines = result.stderr.trim().split('\n').filter((l) => !l.startsWith('vendor: '));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /itoa.*1\.0\.1/);
    assert.match(lines[0] ?? '', /^stowage: itoa 1\.0\.1: checksum mismatch for http:\/\/127\.0\.0\.1:\d+\/.*itoa\/1\.0\.1/);
    assert.ok(reg.crateDownloads.length >= 2, `${reg.crateDownloads.length} downloads: the failure came after work began`);
    assert.deepEqual(readdirSync(outDir), [], 'nothing written where the archive would go, not even a temporary file');
  } finally {
    await reg.close();
  }
});
