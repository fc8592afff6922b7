import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indexPath, openDatabase } from '../../src/advisories/database.js';
import { parseDatabaseSpec } from '../../src/advisories/source.js';
import { StowageError } from '../../src/core/errors.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, advisoryDbCheckout, tempDir } from '../support/shared.js';
import { FIXTURE_TIME, osvZipOf } from '../support/advisory-fixtures.js';

const HEAD_MAIN = 'bf5c0d245a92671908518d7e765914d437954ed6';
/** main ten days earlier: fifteen crate advisories (h2's RUSTSEC-2026-0258 among them) did not exist yet. */
const OLDER_MAIN = '82f97fca162606859665a37e7755516f0ffe1742';

function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

test('a git bundle is cloned into the cache, indexed once, and reused while its revision stands', async () => {
  const cacheRoot = tempDir('db-cache');
  const spec = parseDatabaseSpec(ADVISORY_DB_BUNDLE);
  assert.equal(spec.kind, 'git-remote');
  const cold = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(cold.rebuilt, true);
  assert.equal(cold.revision, HEAD_MAIN);
  assert.match(cold.revisionDate ?? '', /^2026-08-21T/);
  assert.equal(cold.advisories, 1205);
  assert.ok(cold.toolchainAdvisories > 0, 'the rust/ collection is read');
  const h2 = cold.index.lookup('cargo', ['h2']).map((a) => a.id);
  assert.ok(h2.includes('RUSTSEC-2026-0258'));
  cold.index.close();

  const warm = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(warm.rebuilt, false, 'a warm open does not re-read the advisory files');
  assert.equal(warm.revision, HEAD_MAIN);
  warm.index.close();
});

test('the OSV export branch of the same bundle holds the same crate advisories', async () => {
  const cacheRoot = tempDir('db-osv');
  const native = await openDatabase(parseDatabaseSpec(ADVISORY_DB_BUNDLE), { cacheRoot, fetch: 'auto' });
  const osv = await openDatabase(parseDatabaseSpec(`${ADVISORY_DB_BUNDLE}#osv`), { cacheRoot, fetch: 'auto' });
  // The export still carries RUSTSEC-2025-0000, a candidate id main renamed (commit 168390e0);
  // it shares its CVE and GHSA aliases with the renamed advisory but is a second id of the same
  // database, so an audit of the export reports both (one database's ids are never folded).
  assert.equal(osv.advisories, native.advisories + 1);
  assert.deepEqual(
    osv.index.lookup('cargo', ['matrix-sdk-base']).find((a) => a.id === 'RUSTSEC-2025-0000')?.aliases.sort(),
    ['CVE-2025-59047', 'GHSA-qhj8-q5r6-8q6j'],
  );
  assert.notEqual(osv.revision, native.revision);
  const ids = (db: typeof native): string[] => db.index.lookup('cargo', ['rsa', 'h2', 'openssl']).map((a) => a.id).sort();
  assert.deepEqual(ids(osv), ids(native));
  native.index.close();
  osv.index.close();
});

test('syncing forward from an older commit brings the advisories published since', async () => {
  const cacheRoot = tempDir('db-sync');
  const remote = join(tempDir('db-remote'), 'advisory-db.git');
  git(['clone', '--quiet', '--bare', ADVISORY_DB_BUNDLE, remote]);
  git(['update-ref', 'refs/heads/main', OLDER_MAIN], remote);
  const spec = parseDatabaseSpec(remote);
  assert.equal(spec.kind, 'git-remote', 'a bare repository is cloned like a remote');

  const before = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(before.revision, OLDER_MAIN);
  assert.deepEqual(before.index.lookup('cargo', ['h2']).filter((a) => a.id === 'RUSTSEC-2026-0258'), []);
  const countBefore = before.advisories;
  before.index.close();

  git(['update-ref', 'refs/heads/main', HEAD_MAIN], remote);
  const notYet = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(notYet.revision, OLDER_MAIN, 'auto does not fetch again within the hour');
  notYet.index.close();

  const after = await openDatabase(spec, { cacheRoot, fetch: 'always' });
  assert.equal(after.revision, HEAD_MAIN);
  assert.equal(after.rebuilt, true);
  assert.equal(after.advisories - countBefore, 15);
  assert.ok(after.index.lookup('cargo', ['h2']).some((a) => a.id === 'RUSTSEC-2026-0258'));
  after.index.close();
});

test('a failed fetch falls back to the cached revision with a warning; no cache and no fetch is an error', async () => {
  const cacheRoot = tempDir('db-offline');
  const remote = join(tempDir('db-gone'), 'advisory-db.git');
  git(['clone', '--quiet', '--bare', ADVISORY_DB_BUNDLE, remote]);
  const spec = parseDatabaseSpec(remote);
  (await openDatabase(spec, { cacheRoot, fetch: 'auto' })).index.close();
  execFileSync('rm', ['-rf', remote]);
  const offline = await openDatabase(spec, { cacheRoot, fetch: 'always' });
  assert.equal(offline.revision, HEAD_MAIN);
  assert.match(offline.warnings.join('\n'), /could not fetch .*using the cached revision/);
  offline.index.close();

  await assert.rejects(
    openDatabase(parseDatabaseSpec(ADVISORY_DB_BUNDLE), { cacheRoot: tempDir('db-empty'), fetch: 'never' }),
    (err: unknown) => err instanceof StowageError && /not in the cache .*--no-fetch/.test(err.message),
  );
});

test('a plain directory of RustSec advisories is content-hashed and re-indexed when a file changes', async () => {
  const checkout = advisoryDbCheckout('origin/main');
  const dir = join(tempDir('db-dir'), 'advisories');
  cpSync(join(checkout, 'crates'), join(dir, 'crates'), { recursive: true });
  const spec = parseDatabaseSpec(dir);
  assert.equal(spec.kind, 'directory');
  const cacheRoot = tempDir('db-dir-cache');
  const first = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(first.advisories, 1205);
  assert.match(first.revision, /^sha256:[0-9a-f]{64}$/);
  first.index.close();

  const again = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(again.rebuilt, false);
  assert.equal(again.revision, first.revision);
  again.index.close();

  const file = join(dir, 'crates', 'h2', 'RUSTSEC-2026-0258.md');
  writeFileSync(file, '');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  await assert.rejects(openDatabase(spec, { cacheRoot, fetch: 'auto' }), (err: unknown) => {
    assert.ok(err instanceof StowageError);
    assert.equal(err.file, file, 'the broken advisory is named, never skipped');
    return true;
  });
});

test('a local git checkout is read in place at its HEAD, and re-indexed when its work tree changes', async () => {
  const checkout = join(tempDir('db-checkout-copy'), 'advisory-db');
  git(['clone', '--quiet', ADVISORY_DB_BUNDLE, checkout]);
  const spec = parseDatabaseSpec(checkout);
  assert.equal(spec.kind, 'git-checkout');
  const cacheRoot = tempDir('db-checkout');
  const db = await openDatabase(spec, { cacheRoot, fetch: 'never' });
  assert.equal(db.revision, HEAD_MAIN);
  assert.equal(db.advisories, 1205);
  db.index.close();
  // An advisory written but not committed yet is read: the index follows the files.
  const draft = join(checkout, 'crates', 'h2', 'RUSTSEC-2099-0001.md');
  writeFileSync(draft, readFileSync(join(checkout, 'crates', 'h2', 'RUSTSEC-2026-0258.md'), 'utf8').replace('RUSTSEC-2026-0258', 'RUSTSEC-2099-0001'));
  const again = await openDatabase(spec, { cacheRoot, fetch: 'never' });
  assert.equal(again.rebuilt, true);
  assert.equal(again.advisories, 1206);
  assert.ok(again.index.lookup('cargo', ['h2']).some((a) => a.id === 'RUSTSEC-2099-0001'));
  again.index.close();
});

test('OSV records from a directory and from a .zip give the same index', async () => {
  const cacheRoot = tempDir('db-zip');
  const dirDb = await openDatabase(parseDatabaseSpec(GHSA_NPM), { cacheRoot, fetch: 'never' });
  const zip = osvZipOf(GHSA_NPM, join(tempDir('zip'), 'npm.zip'));
  const zipDb = await openDatabase(parseDatabaseSpec(zip), { cacheRoot, fetch: 'never' });
  assert.ok(dirDb.advisories >= 100, `${dirDb.advisories} npm advisories`);
  assert.equal(zipDb.advisories, dirDb.advisories);
  assert.equal(zipDb.revisionDate, dirDb.revisionDate);
  dirDb.index.close();
  zipDb.index.close();
  // The same archive named in capitals, or with no extension, is still read as a zip (by its signature).
  for (const name of ['NPM.ZIP', 'npm-advisories']) {
    const renamed = join(tempDir('zip-named'), name);
    copyFileSync(zip, renamed);
    const spec = parseDatabaseSpec(renamed);
    assert.equal(spec.kind, 'zip', name);
    const db = await openDatabase(spec, { cacheRoot, fetch: 'never' });
    assert.equal(db.advisories, dirDb.advisories, name);
    db.index.close();
  }
});

test("a .zip database's revision follows its content: an edit of one record that keeps its size is a new revision", async () => {
  const cacheRoot = tempDir('db-zip-revision');
  const work = tempDir('db-zip-revision-src');
  cpSync(GHSA_NPM, work, { recursive: true });
  const zip = join(tempDir('db-zip-revision-out'), 'npm.zip');
  const pack = (): void => {
    execFileSync('python3', [
      '-c',
      'import sys, zipfile, pathlib\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n  for p in sorted(pathlib.Path(sys.argv[2]).glob("*.json")): z.write(p, p.name)',
      zip,
      work,
    ]);
  };
  const open = async (): Promise<{ revision: string; rebuilt: boolean; summary: string | undefined }> => {
    const db = await openDatabase(parseDatabaseSpec(zip), { cacheRoot, fetch: 'never' });
    const summary = db.index.lookup('npm', ['color-string']).find((a) => a.id === 'GHSA-257v-vj4p-3w2h')?.title;
    db.index.close();
    return { revision: db.revision, rebuilt: db.rebuilt, summary };
  };
  pack();
  const first = await open();
  assert.match(first.revision, /^sha256:[0-9a-f]{64}$/);
  assert.equal((await open()).rebuilt, false, 'the same zip is not indexed again');

  // One letter of one record's summary changed: the record keeps its size.
  const record = join(work, 'GHSA-257v-vj4p-3w2h.json');
  const text = readFileSync(record, 'utf8');
  const original = JSON.parse(text) as { summary: string };
  const edited = original.summary.replace(/[a-z]/, (c) => (c === 'x' ? 'y' : 'x'));
  assert.equal(edited.length, original.summary.length);
  writeFileSync(record, text.replace(JSON.stringify(original.summary), JSON.stringify(edited)));
  pack();
  const changed = await open();
  assert.notEqual(changed.revision, first.revision);
  assert.equal(changed.rebuilt, true);
  assert.equal(changed.summary, edited);

  writeFileSync(record, text);
  pack();
  assert.equal((await open()).revision, first.revision, 'the same content is the same revision again');
});

test('what is not a database is refused with the path and the reason', async () => {
  const cacheRoot = tempDir('db-bad');
  assert.throws(() => parseDatabaseSpec('/nonexistent/advisory-db'), /no such file or directory, and not a git URL/);
  const empty = tempDir('db-nothing');
  mkdirSync(join(empty, 'docs'));
  writeFileSync(join(empty, 'docs', 'README.md'), '# nothing here\n');
  await assert.rejects(openDatabase(parseDatabaseSpec(empty), { cacheRoot, fetch: 'never' }), /not an advisory database/);
  const notZip = join(tempDir('db-notzip'), 'db.zip');
  writeFileSync(notZip, 'this is not a zip archive at all');
  await assert.rejects(openDatabase(parseDatabaseSpec(notZip), { cacheRoot, fetch: 'never' }), (err: unknown) => {
    assert.ok(err instanceof StowageError);
    assert.equal(err.file, notZip);
    assert.match(err.message, /zip/);
    return true;
  });
  const plainFile = join(tempDir('db-file'), 'advisories.txt');
  writeFileSync(plainFile, 'hello');
  assert.throws(() => parseDatabaseSpec(plainFile), /not a database/);
  await assert.rejects(
    openDatabase(parseDatabaseSpec('https://127.0.0.1:9/no-such-db.git'), { cacheRoot, fetch: 'auto' }),
    /cannot clone advisory database/,
  );
});

test("GIT_DIR from the user's shell or a git hook never redirects stowage's git commands", async () => {
  const victim = tempDir('db-victim');
  git(['init', '--quiet', victim]);
  git(['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '--quiet', '--allow-empty', '-m', 'local work'], victim);
  git(['remote', 'add', 'origin', ADVISORY_DB_BUNDLE], victim);
  const before = git(['rev-parse', 'HEAD'], victim).trim();
  const cacheRoot = tempDir('db-gitdir');
  const spec = parseDatabaseSpec(ADVISORY_DB_BUNDLE);
  (await openDatabase(spec, { cacheRoot, fetch: 'auto' })).index.close();
  const saved = process.env.GIT_DIR;
  process.env.GIT_DIR = join(victim, '.git');
  try {
    const db = await openDatabase(spec, { cacheRoot, fetch: 'always' });
    assert.equal(db.revision, HEAD_MAIN);
    db.index.close();
    const checkout = await openDatabase(parseDatabaseSpec(advisoryDbCheckout('origin/main')), { cacheRoot, fetch: 'never' });
    assert.equal(checkout.revision, HEAD_MAIN, "the checkout's own HEAD, not the victim's");
    checkout.index.close();
  } finally {
    if (saved === undefined) delete process.env.GIT_DIR;
    else process.env.GIT_DIR = saved;
  }
  assert.equal(git(['rev-parse', 'HEAD'], victim).trim(), before, "the user's repository is untouched");
});

test('an index found damaged while reading is rebuilt from the source once, with a warning', async () => {
  const cacheRoot = tempDir('db-damaged');
  const spec = parseDatabaseSpec(GHSA_NPM);
  const first = await openDatabase(spec, { cacheRoot, fetch: 'never' });
  const expected = (await first.lookup('npm', ['lodash', 'minimist', 'ws'])).map((a) => a.id);
  assert.ok(expected.length > 0);
  first.index.close();

  // Keep the header, schema and meta pages; overwrite the rows and the package index.
  const file = indexPath(cacheRoot, spec);
  const bytes = readFileSync(file);
  bytes.fill(0xff, 3 * 4096);
  writeFileSync(file, bytes);

  // Found when the records' dates are read at opening, or by the lookup.
  const damaged = await openDatabase(spec, { cacheRoot, fetch: 'never' });
  assert.deepEqual((await damaged.lookup('npm', ['lodash', 'minimist', 'ws'])).map((a) => a.id), expected);
  assert.equal(damaged.rebuilt, true);
  assert.equal(damaged.warnings.length, 1);
  assert.match(damaged.warnings[0] ?? '', /advisory index is damaged \(.*\): rebuilt it from .*ghsa-npm/);
  damaged.index.close();

  const after = await openDatabase(spec, { cacheRoot, fetch: 'never' });
  assert.equal(after.rebuilt, false);
  assert.deepEqual((await after.lookup('npm', ['lodash', 'minimist', 'ws'])).map((a) => a.id), expected);
  assert.deepEqual(after.warnings, []);
  after.index.close();
});

/** Every file and directory under `dir` named `name`, at any depth. */
function findNamed(dir: string, name: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name === name) found.push(path);
    else if (entry.isDirectory()) found.push(...findNamed(path, name));
  }
  return found;
}

test('files deleted from the cache never shrink the index: the database is read at its commit from git objects', async () => {
  const cacheRoot = tempDir('db-tampered');
  const spec = parseDatabaseSpec(ADVISORY_DB_BUNDLE);
  (await openDatabase(spec, { cacheRoot, fetch: 'auto' })).index.close();
  // What a cache cleaner or a stray `rm` does: every advisory file on disk in the cache goes,
  // and so does the index, so the next run rebuilds it from what the cache holds.
  for (const dir of [...findNamed(join(cacheRoot, 'db'), 'crates'), ...findNamed(join(cacheRoot, 'db'), 'rust')]) rmSync(dir, { recursive: true });
  rmSync(indexPath(cacheRoot, spec));
  const again = await openDatabase(spec, { cacheRoot, fetch: 'never' });
  assert.equal(again.rebuilt, true);
  assert.equal(again.revision, HEAD_MAIN);
  assert.equal(again.advisories, 1205, 'every advisory of the commit the report names');
  assert.deepEqual(again.warnings, []);
  again.index.close();
});

test('a cached clone whose objects are damaged is cloned again (or, offline, refused naming it), never read short', async () => {
  const cacheRoot = tempDir('db-objects');
  const spec = parseDatabaseSpec(ADVISORY_DB_BUNDLE);
  (await openDatabase(spec, { cacheRoot, fetch: 'auto' })).index.close();
  const [clone] = readdirSync(join(cacheRoot, 'db')).filter((n) => n.endsWith('.git'));
  assert.ok(clone, 'a bare clone in the cache');
  const packs = join(cacheRoot, 'db', clone, 'objects', 'pack');
  for (const pack of readdirSync(packs)) rmSync(join(packs, pack));
  rmSync(indexPath(cacheRoot, spec));

  await assert.rejects(openDatabase(spec, { cacheRoot, fetch: 'never' }), (err: unknown) => {
    assert.ok(err instanceof StowageError);
    assert.equal(err.file, join(cacheRoot, 'db', clone));
    assert.match(err.message, /^the cached clone of .* is damaged \(git: .+\); run without --no-fetch to clone it again$/);
    return true;
  });
  const healed = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(healed.advisories, 1205);
  assert.equal(healed.revision, HEAD_MAIN);
  assert.match(healed.warnings.join('\n'), /the cached clone of .* was damaged \(git: .+\); cloned it again/);
  healed.index.close();
});

test('a warm checkout or directory still notices a same-size edit with its mtime set back, a rename and a deletion', async () => {
  const checkout = join(tempDir('db-warm-changes'), 'advisory-db');
  git(['clone', '--quiet', ADVISORY_DB_BUNDLE, checkout]);
  const plain = join(tempDir('db-warm-dir'), 'advisories');
  cpSync(join(checkout, 'crates'), join(plain, 'crates'), { recursive: true });
  for (const root of [checkout, plain]) {
    const spec = parseDatabaseSpec(root);
    const cacheRoot = tempDir('db-warm-cache');
    const open = async (): Promise<{ rebuilt: boolean; advisories: number; h2: string[] }> => {
      const db = await openDatabase(spec, { cacheRoot, fetch: 'never' });
      const h2 = db.index.lookup('cargo', ['h2']).map((a) => `${a.id} ${a.title}`);
      db.index.close();
      return { rebuilt: db.rebuilt, advisories: db.advisories, h2 };
    };
    const cold = await open();
    assert.equal(cold.rebuilt, true);
    assert.ok(cold.h2.includes('RUSTSEC-2026-0258 h2 unbounded empty DATA frames'), cold.h2.join('\n'));
    assert.equal((await open()).rebuilt, false, `${spec.kind}: warm`);

    // The same number of bytes, and the old mtime put back: only the ctime tells.
    const h2 = join(root, 'crates', 'h2', 'RUSTSEC-2026-0258.md');
    const before = statSync(h2);
    const text = readFileSync(h2, 'utf8');
    writeFileSync(h2, text.replace('# h2 unbounded empty DATA frames', '# h2 UNBOUNDED empty DATA frames'));
    utimesSync(h2, before.atime, before.mtime);
    assert.equal(statSync(h2).size, before.size);
    const edited = await open();
    assert.equal(edited.rebuilt, true, `${spec.kind}: a same-size edit is seen`);
    assert.ok(edited.h2.includes('RUSTSEC-2026-0258 h2 UNBOUNDED empty DATA frames'), edited.h2.join('\n'));
    assert.equal((await open()).rebuilt, false);

    // Renamed into another crate's directory: the advisory moves with it (and names its own package).
    renameSync(h2, join(root, 'crates', 'hyper', 'RUSTSEC-2026-0258.md'));
    const renamed = await open();
    assert.equal(renamed.rebuilt, true, `${spec.kind}: a rename is seen`);
    assert.equal(renamed.advisories, 1205);
    assert.equal((await open()).rebuilt, false);

    rmSync(join(root, 'crates', 'hyper', 'RUSTSEC-2026-0258.md'));
    const deleted = await open();
    assert.equal(deleted.rebuilt, true, `${spec.kind}: a deletion is seen`);
    assert.equal(deleted.advisories, 1204);
    assert.ok(!deleted.h2.some((line) => line.startsWith('RUSTSEC-2026-0258 ')), deleted.h2.join('\n'));
  }
});

test('a database cloned from a tag (URL#TAG, as git clone --branch takes one) is fetched forward when the tag moves', async () => {
  const cacheRoot = tempDir('db-tag');
  const remote = join(tempDir('db-tag-remote'), 'advisory-db.git');
  git(['clone', '--quiet', '--bare', ADVISORY_DB_BUNDLE, remote]);
  git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'tag', '-a', '-m', 'pinned', 'pinned', OLDER_MAIN], remote);
  const spec = parseDatabaseSpec(`${remote}#pinned`);
  const before = await openDatabase(spec, { cacheRoot, fetch: 'auto' });
  assert.equal(before.revision, OLDER_MAIN);
  before.index.close();

  git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'tag', '-f', '-a', '-m', 'moved', 'pinned', HEAD_MAIN], remote);
  const after = await openDatabase(spec, { cacheRoot, fetch: 'always' });
  assert.deepEqual({ revision: after.revision, warnings: after.warnings }, { revision: HEAD_MAIN, warnings: [] });
  assert.ok(after.index.lookup('cargo', ['h2']).some((a) => a.id === 'RUSTSEC-2026-0258'), 'the advisories of the tag as it is now');
  after.index.close();
});

test('a git database with two advisory files whose names are not UTF-8 is refused, not read as one file', async () => {
  const work = join(tempDir('db-not-utf8-names'), 'work');
  mkdirSync(work, { recursive: true });
  const record = (id: string, name: string): string =>
    JSON.stringify({ id, modified: FIXTURE_TIME, affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }] });
  // Both names decode to "\uFFFD.json"; the second listed (\xff) hid the first (\xfe): leftpad's.
  writeFileSync(Buffer.concat([Buffer.from(`${work}/`), Buffer.from([0xfe]), Buffer.from('.json')]), record('GHSA-aaaa-aaaa-aaaa', 'leftpad'));
  writeFileSync(Buffer.concat([Buffer.from(`${work}/`), Buffer.from([0xff]), Buffer.from('.json')]), record('GHSA-bbbb-bbbb-bbbb', 'other'));
  git(['init', '--quiet', '--initial-branch=main'], work);
  git(['add', '.'], work);
  git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'advisories'], work);
  const remote = join(dirname(work), 'advisories.git');
  git(['clone', '--quiet', '--bare', work, remote]);
  await assert.rejects(openDatabase(parseDatabaseSpec(remote), { cacheRoot: tempDir('db-not-utf8-cache'), fetch: 'auto' }), (err: unknown) => {
    assert.ok(err instanceof StowageError, String(err));
    assert.match(err.line, /two paths of the tree read as "\uFFFD\.json" \(not UTF-8\): the database is refused/);
    return true;
  });
});

test('a warm directory notices a same-size edit while another of its files is dated in the future', async () => {
  // Unpacked from an archive made by a clock ahead (or in a zone ahead: zip times are local),
  // or `touch -d`: one file's mtime is still to come. It must not hide a later edit of another.
  const root = join(tempDir('db-future-mtime'), 'advisories');
  mkdirSync(root, { recursive: true });
  const record = (id: string, name: string, fixed: string): string =>
    JSON.stringify({
      schema_version: '1.4.0',
      id,
      modified: FIXTURE_TIME,
      summary: `${name} is vulnerable`,
      affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }] }],
    });
  const leftpad = join(root, 'GHSA-aaaa-bbbb-cccc.json');
  writeFileSync(leftpad, record('GHSA-aaaa-bbbb-cccc', 'leftpad', '1.0.0'));
  const other = join(root, 'GHSA-zzzz-zzzz-zzzz.json');
  writeFileSync(other, record('GHSA-zzzz-zzzz-zzzz', 'other', '1.0.0'));
  const nextYear = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  utimesSync(other, nextYear, nextYear);
  const spec = parseDatabaseSpec(root);
  const cacheRoot = tempDir('db-future-mtime-cache');
  const open = async (): Promise<{ rebuilt: boolean; patched: string[] }> => {
    const db = await openDatabase(spec, { cacheRoot, fetch: 'never' });
    const patched = db.index.lookup('npm', ['leftpad']).flatMap((a) => a.patched);
    db.index.close();
    return { rebuilt: db.rebuilt, patched };
  };
  assert.deepEqual(await open(), { rebuilt: true, patched: ['>= 1.0.0'] });
  assert.equal((await open()).rebuilt, false);

  // leftpad 1.5.0 was not affected; now every version before 2.0.0 is. The same number of bytes.
  const size = statSync(leftpad).size;
  writeFileSync(leftpad, record('GHSA-aaaa-bbbb-cccc', 'leftpad', '2.0.0'));
  assert.equal(statSync(leftpad).size, size);
  assert.deepEqual(await open(), { rebuilt: true, patched: ['>= 2.0.0'] }, 'the edit is read, not the index of the old record');
});

test('a git checkout with files git was told not to look at (sparse, assume-unchanged) is never reported as HEAD', async () => {
  const record = (id: string, name: string, fixed: string): string =>
    JSON.stringify({
      schema_version: '1.4.0',
      id,
      modified: FIXTURE_TIME,
      summary: `${name} is vulnerable`,
      affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }] }],
    });
  const made = (): { dir: string; head: string } => {
    const dir = join(tempDir('db-unwatched'), 'advisories');
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'GHSA-aaaa-aaaa-aaaa.json'), record('GHSA-aaaa-aaaa-aaaa', 'leftpad', '1.0.0'));
    writeFileSync(join(dir, 'b', 'GHSA-bbbb-bbbb-bbbb.json'), record('GHSA-bbbb-bbbb-bbbb', 'rightpad', '1.0.0'));
    git(['init', '--quiet'], dir);
    git(['add', '.'], dir);
    git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'advisories'], dir);
    return { dir, head: git(['rev-parse', 'HEAD'], dir).trim() };
  };
  const open = async (dir: string): Promise<{ revision: string; advisories: number; warned: boolean }> => {
    const db = await openDatabase(parseDatabaseSpec(dir), { cacheRoot: tempDir('db-unwatched-cache'), fetch: 'never' });
    db.index.close();
    return { revision: db.revision, advisories: db.advisories, warned: db.warnings.some((w) => w.includes('differ from its HEAD commit')) };
  };

  // Edited, and git told to assume it unchanged: `git status` and `git diff HEAD` say nothing.
  const edited = made();
  git(['update-index', '--assume-unchanged', 'a/GHSA-aaaa-aaaa-aaaa.json'], edited.dir);
  writeFileSync(join(edited.dir, 'a', 'GHSA-aaaa-aaaa-aaaa.json'), record('GHSA-aaaa-aaaa-aaaa', 'leftpad', '2.0.0'));
  assert.equal(git(['status', '--porcelain'], edited.dir), '');
  assert.deepEqual(await open(edited.dir), { revision: `${edited.head}-dirty`, advisories: 2, warned: true });

  // A sparse checkout: b/ is not in the work tree, so its advisory cannot be read: refused (an
  // index of a/ alone passed every rightpad), naming the checkout and a file left out.
  const sparse = made();
  git(['sparse-checkout', 'set', '--no-cone', '/a/'], sparse.dir);
  assert.equal(existsSync(join(sparse.dir, 'b')), false);
  await assert.rejects(open(sparse.dir), (err: Error) => {
    assert.match(err.message, /a sparse checkout: 1 advisory file is in HEAD but not in the work tree \(b\/GHSA-bbbb-bbbb-bbbb\.json\), so it cannot be read: refused/);
    return true;
  });
  // Skip-worktree on a file still there (to keep a local edit): read as it is, and dirty.
  const kept = made();
  git(['update-index', '--skip-worktree', 'b/GHSA-bbbb-bbbb-bbbb.json'], kept.dir);
  writeFileSync(join(kept.dir, 'b', 'GHSA-bbbb-bbbb-bbbb.json'), record('GHSA-bbbb-bbbb-bbbb', 'rightpad', '2.0.0'));
  assert.deepEqual(await open(kept.dir), { revision: `${kept.head}-dirty`, advisories: 2, warned: true });
});

test('a git checkout whose advisory files differ from HEAD is reported as COMMIT-dirty, never as HEAD', async () => {
  const checkout = join(tempDir('db-dirty'), 'advisory-db');
  git(['clone', '--quiet', ADVISORY_DB_BUNDLE, checkout]);
  const spec = parseDatabaseSpec(checkout);
  const cacheRoot = tempDir('db-dirty-cache');
  const open = async (): Promise<{ revision: string; advisories: number; warnings: string[] }> => {
    const db = await openDatabase(spec, { cacheRoot, fetch: 'never' });
    db.index.close();
    return { revision: db.revision, advisories: db.advisories, warnings: db.warnings };
  };
  // Files that are not advisories do not make it dirty.
  writeFileSync(join(checkout, 'notes.txt'), 'mine\n');
  writeFileSync(join(checkout, 'crates', 'README.txt'), 'mine\n');
  assert.deepEqual(await open(), { revision: HEAD_MAIN, advisories: 1205, warnings: [] });

  const h2 = join(checkout, 'crates', 'h2', 'RUSTSEC-2026-0258.md');
  rmSync(h2);
  const deleted = await open();
  assert.equal(deleted.revision, `${HEAD_MAIN}-dirty`);
  assert.equal(deleted.advisories, 1204);
  assert.match(deleted.warnings.join('\n'), /advisory files in the work tree differ from its HEAD commit; .* reported as [0-9a-f]{40}-dirty/);
  const warm = await open();
  assert.equal(warm.revision, `${HEAD_MAIN}-dirty`, 'a warm run says it too');
  assert.equal(warm.warnings.length, 1);

  git(['checkout', '--quiet', '--', 'crates/h2/RUSTSEC-2026-0258.md'], checkout);
  assert.deepEqual(await open(), { revision: HEAD_MAIN, advisories: 1205, warnings: [] });

  // Edited in place, and a new advisory nobody committed (an ignored one is read too).
  const text = readFileSync(h2, 'utf8');
  writeFileSync(h2, `${text}\nA note not committed yet.\n`);
  assert.equal((await open()).revision, `${HEAD_MAIN}-dirty`);
  git(['checkout', '--quiet', '--', 'crates/h2/RUSTSEC-2026-0258.md'], checkout);
  writeFileSync(join(checkout, '.gitignore'), 'RUSTSEC-2099-*\n');
  writeFileSync(join(checkout, 'crates', 'h2', 'RUSTSEC-2099-0001.md'), text.replace(/RUSTSEC-2026-0258/g, 'RUSTSEC-2099-0001'));
  const added = await open();
  assert.equal(added.revision, `${HEAD_MAIN}-dirty`);
  assert.equal(added.advisories, 1206);
});

test('symbolic links in a git database are followed within its tree; leaving it, dangling or looping refuses it', async () => {
  const checkout = advisoryDbCheckout('origin/main');
  const make = (links: Record<string, string>): string => {
    const work = join(tempDir('db-links'), 'work');
    mkdirSync(join(work, 'crates', 'h2'), { recursive: true });
    mkdirSync(join(work, 'crates', 'rsa'), { recursive: true });
    cpSync(join(checkout, 'crates', 'h2', 'RUSTSEC-2026-0258.md'), join(work, 'store', 'h2.md'));
    cpSync(join(checkout, 'crates', 'rsa'), join(work, 'store', 'rsa'), { recursive: true });
    for (const [path, target] of Object.entries(links)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      symlinkSync(target, join(work, path));
    }
    git(['init', '--quiet'], work);
    git(['add', '-A'], work);
    git(['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '--quiet', '-m', 'db'], work);
    const bare = `${work}.git`;
    git(['clone', '--quiet', '--bare', work, bare]);
    return bare;
  };
  const inside = make({ 'crates/h2/RUSTSEC-2026-0258.md': '../../store/h2.md', 'crates/rsa2': '../store/rsa' });
  const db = await openDatabase(parseDatabaseSpec(inside), { cacheRoot: tempDir('db-links-cache'), fetch: 'auto' });
  assert.deepEqual(db.index.lookup('cargo', ['h2']).map((a) => a.id), ['RUSTSEC-2026-0258']);
  assert.deepEqual(db.index.lookup('cargo', ['rsa']).map((a) => a.id), ['RUSTSEC-2023-0071'], 'crates/rsa2 -> store/rsa');
  db.index.close();

  // A link that puts advisories one level too deep (crates/rsa/x/ID.md) is an advisory rustsec
  // would not read: refused, as the directory reader refuses it, never skipped.
  await assert.rejects(
    openDatabase(parseDatabaseSpec(make({ 'crates/rsa/x': '../../store/rsa' })), { cacheRoot: tempDir('db-links-deep'), fetch: 'auto' }),
    (err: unknown) => err instanceof StowageError && /crates\/rsa\/x\/RUSTSEC-2023-0071\.md: not where a RustSec advisory can be/.test(err.line),
  );

  for (const [links, why] of [
    [{ 'crates/h2/RUSTSEC-2026-0258.md': '../../../outside.md' }, /symbolic link crates\/h2\/RUSTSEC-2026-0258\.md leaves the database/],
    [{ 'crates/h2/RUSTSEC-2026-0258.md': '/etc/passwd' }, /leaves the database \(-> \/etc\/passwd\)/],
    [{ 'crates/h2/RUSTSEC-2026-0258.md': 'missing.md' }, /points to nothing in the tree/],
    [{ 'crates/h2/a.md': 'b.md', 'crates/h2/b.md': 'a.md' }, /crates\/h2\/a\.md is part of a loop/],
    [{ 'crates/up': '..' }, /crates\/up is part of a loop/],
  ] as const) {
    await assert.rejects(openDatabase(parseDatabaseSpec(make(links)), { cacheRoot: tempDir('db-links-bad'), fetch: 'auto' }), (err: unknown) => {
      assert.ok(err instanceof StowageError, String(err));
      assert.match(err.message, why);
      assert.match(err.message, /the database is refused$/);
      return true;
    });
  }
});

test('an advisory that is not UTF-8 refuses a git database as it refuses a directory, naming the file', async () => {
  // A byte that is not UTF-8 in the ecosystem: read leniently it becomes "crates.io\uFFFD", an
  // ecosystem of nobody's, and the record would drop out of the index while the audit passed.
  const record = (id: string, crate: string, ecosystem: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from(`{"id":"${id}","modified":"2026-08-01T00:00:00Z","affected":[{"package":{"ecosystem":"`),
      ecosystem,
      Buffer.from(`","name":"${crate}"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`),
    ]);
  const work = join(tempDir('db-utf8'), 'work');
  mkdirSync(join(work, 'crates'), { recursive: true });
  writeFileSync(join(work, 'crates', 'TEST-0001.json'), record('TEST-0001', 'itoa', Buffer.from('crates.io')));
  writeFileSync(join(work, 'crates', 'TEST-0002.json'), record('TEST-0002', 'smallvec', Buffer.from([...Buffer.from('crates.io'), 0xff])));
  git(['init', '--quiet'], work);
  git(['add', '-A'], work);
  git(['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '--quiet', '-m', 'db'], work);
  const bare = `${work}.git`;
  git(['clone', '--quiet', '--bare', work, bare]);
  const commit = git(['rev-parse', 'HEAD'], work).trim().slice(0, 12);

  await assert.rejects(openDatabase(parseDatabaseSpec(bare), { cacheRoot: tempDir('db-utf8-cache'), fetch: 'auto' }), (err: unknown) => {
    assert.ok(err instanceof StowageError, String(err));
    assert.equal(err.line, `${bare}@${commit}:crates/TEST-0002.json: advisory is not UTF-8 text`);
    return true;
  });
  // The same files as a plain directory: refused the same way.
  rmSync(join(work, '.git'), { recursive: true, force: true });
  await assert.rejects(openDatabase(parseDatabaseSpec(work), { cacheRoot: tempDir('db-utf8-cache'), fetch: 'auto' }), (err: unknown) => {
    assert.ok(err instanceof StowageError, String(err));
    assert.equal(err.line, `${join(work, 'crates', 'TEST-0002.json')}: advisory is not UTF-8 text`);
    return true;
  });
});

test('one advisory id defined twice for one crate, however the crate is spelt, refuses the database naming both files', async () => {
  const record = (id: string, ...crates: string[]): string =>
    JSON.stringify({
      id,
      modified: FIXTURE_TIME,
      summary: `${crates.join(', ')} overflows (made up)`,
      affected: crates.map((name) => ({ package: { ecosystem: 'crates.io', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] })),
    });
  const open = (files: Record<string, string>) => {
    const dir = join(tempDir('db-twice'), 'db');
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return { dir, opened: openDatabase(parseDatabaseSpec(dir), { cacheRoot: tempDir('db-twice-cache'), fetch: 'auto' }) };
  };
  // crates.io allows no two crates that differ only in case or in "-" against "_": serde_json is
  // Serde-JSON, and two records of one id for it are a broken database, whichever the audit showed.
  for (const [second, spelt] of [
    ['serde_json', ''],
    ['Serde-JSON', ' (as serde_json)'],
  ] as const) {
    const { dir, opened } = open({ 'a.json': record('TEST-0001', 'serde_json'), 'b.json': record('TEST-0001', second) });
    await assert.rejects(opened, (err: unknown) => {
      assert.ok(err instanceof StowageError, String(err));
      assert.equal(err.line, `${join(dir, 'b.json')}: advisory TEST-0001 for ${second} is also defined in a.json${spelt}`);
      return true;
    });
  }
  // One record naming the crate twice, spelt two ways, is one advisory about it.
  const { opened } = open({ 'a.json': record('TEST-0002', 'serde_json', 'Serde-JSON') });
  const db = await opened;
  assert.equal(db.advisories, 1);
  assert.deepEqual(db.index.lookup('cargo', ['serde_json']).map((a) => [a.id, a.affected.length]), [['TEST-0002', 2]]);
  db.index.close();
});

test('an advisory over 32 MiB is refused naming it, from a directory and a git tree as from a zip', async () => {
  // A valid record, just over the limit. Past 512 MiB JavaScript cannot hold the text at all: a
  // directory then said "not UTF-8" and a git tree failed as an internal error.
  const size = 32 * 1024 * 1024 + 1;
  const head = `{"id":"TEST-0003","modified":"${FIXTURE_TIME}","affected":[{"package":{"ecosystem":"crates.io","name":"smallvec"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}],"details":"`;
  const work = join(tempDir('db-large'), 'work');
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'big.json'), `${head}${'x'.repeat(size - head.length - 2)}"}`);
  assert.equal(statSync(join(work, 'big.json')).size, size);
  const refusal = async (source: string): Promise<string> => {
    try {
      (await openDatabase(parseDatabaseSpec(source), { cacheRoot: tempDir('db-large-cache'), fetch: 'auto' })).index.close();
    } catch (err) {
      assert.ok(err instanceof StowageError, String(err));
      return err.line;
    }
    return 'accepted';
  };
  const zip = osvZipOf(work, join(dirname(work), 'db.zip'));
  assert.equal(await refusal(zip), `${zip}: entry big.json is ${size} bytes, over the 33554432-byte limit`);
  assert.equal(await refusal(work), `${join(work, 'big.json')}: advisory is ${size} bytes, over the 33554432-byte limit`);
  git(['init', '--quiet', '-b', 'main'], work);
  git(['add', '-A'], work);
  git(['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '--quiet', '-m', 'db'], work);
  const commit = git(['rev-parse', 'HEAD'], work).trim().slice(0, 12);
  assert.equal(await refusal(`${work}#main`), `${work}#main@${commit}:big.json: advisory is ${size} bytes, over the 33554432-byte limit`);
});

test("a directory's date is its newest record's as an instant, and a record dated in the future does not make a stale database fresh", async () => {
  const dir = join(tempDir('db-newest'), 'db');
  mkdirSync(dir, { recursive: true });
  const record = (id: string, modified: string): string =>
    JSON.stringify({ id, modified, affected: [{ package: { ecosystem: 'crates.io', name: id.toLowerCase() }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }] });
  // 10:00 at +02:00 is 08:00 UTC, before 09:00Z; 09:00:00.5Z is after 09:00:00Z (as text, both the other way round).
  writeFileSync(join(dir, 'a.json'), record('TEST-A', '2024-05-01T10:00:00+02:00'));
  writeFileSync(join(dir, 'b.json'), record('TEST-B', '2024-05-01T09:00:00Z'));
  writeFileSync(join(dir, 'c.json'), record('TEST-C', '2024-05-01T09:00:00.5Z'));
  // A hostile or mistaken record dated 2099: not when the database was last changed.
  writeFileSync(join(dir, 'd.json'), record('TEST-D', '2099-01-01T00:00:00Z'));
  const db = await openDatabase(parseDatabaseSpec(dir), { cacheRoot: tempDir('db-newest-cache'), fetch: 'auto' });
  assert.equal(db.revisionDate, '2024-05-01T09:00:00.5Z');
  db.index.close();
});

test('a record dated past tomorrow is judged by the clock audits are evaluated at (STOWAGE_NOW), not the wall clock', async () => {
  const dir = join(tempDir('db-newest-now'), 'db');
  mkdirSync(dir, { recursive: true });
  const record = (id: string, modified: string): string =>
    JSON.stringify({ id, modified, affected: [{ package: { ecosystem: 'crates.io', name: id.toLowerCase() }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }] });
  writeFileSync(join(dir, 'a.json'), record('TEST-A', '2024-05-01T09:00:00Z'));
  writeFileSync(join(dir, 'b.json'), record('TEST-B', '2099-01-01T00:00:00Z'));
  const open = async (now: string, cacheRoot = tempDir('db-newest-now-cache')): Promise<string | null> => {
    const saved = process.env.STOWAGE_NOW;
    process.env.STOWAGE_NOW = now;
    try {
      const db = await openDatabase(parseDatabaseSpec(dir), { cacheRoot, fetch: 'auto' });
      db.index.close();
      return db.revisionDate;
    } finally {
      if (saved === undefined) delete process.env.STOWAGE_NOW;
      else process.env.STOWAGE_NOW = saved;
    }
  };
  // Evaluated as of mid-2099, a record of January 2099 is a real change, not one dated in the future.
  assert.equal(await open('2099-06-01'), '2099-01-01T00:00:00Z');
  // As of 2098, it is dated past tomorrow: left out.
  assert.equal(await open('2098-06-01'), '2024-05-01T09:00:00Z');
  // The same answers from an index built under another clock, in either order: the cache never decides.
  for (const [first, then] of [
    ['2098-06-01', '2099-06-01'],
    ['2099-06-01', '2098-06-01'],
  ] as const) {
    const cacheRoot = tempDir('db-newest-now-shared');
    assert.equal(await open(first, cacheRoot), first === '2099-06-01' ? '2099-01-01T00:00:00Z' : '2024-05-01T09:00:00Z');
    assert.equal(await open(then, cacheRoot), then === '2099-06-01' ? '2099-01-01T00:00:00Z' : '2024-05-01T09:00:00Z', `as of ${then}, the index built as of ${first}`);
  }
});
