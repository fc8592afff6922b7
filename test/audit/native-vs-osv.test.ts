import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/advisories/database.js';
import { parseDatabaseSpec } from '../../src/advisories/source.js';
import { runAudit } from '../../src/audit/audit.js';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { parse as parseToml } from 'smol-toml';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, advisoryDbCheckout, corpusFiles, tempDir } from '../support/shared.js';

/**
 * The same database read in RustSec's native form (main) and from RustSec's own OSV export
 * (osv branch) must give the same findings for every package of every real lockfile: two
 * readers and two range evaluators that agree on 24 lockfiles, 2017 to 2026.
 */
test('native RustSec and its OSV export give identical findings on every shared Cargo lockfile', async () => {
  const cacheRoot = tempDir('native-vs-osv');
  const native = await openDatabase(parseDatabaseSpec(ADVISORY_DB_BUNDLE), { cacheRoot, fetch: 'auto' });
  const osv = await openDatabase(parseDatabaseSpec(`${ADVISORY_DB_BUNDLE}#osv`), { cacheRoot, fetch: 'auto' });
  const policy = { ...DEFAULT_POLICY, ignores: [], maxDatabaseAgeDays: 100_000 };
  const now = new Date('2026-08-22T00:00:00Z');
  const lockfiles = corpusFiles(CARGO_CORPUS, '.Cargo.lock');
  assert.equal(lockfiles.length, 24);
  let packages = 0;
  let findings = 0;
  for (const file of lockfiles) {
    const [location] = findLockfiles(file);
    assert.ok(location);
    const graph = await readDependencyGraph(location);
    packages += graph.packages.length;
    const describe = async (db: typeof native): Promise<string[]> =>
      (await runAudit({ graphs: [graph], databases: [db], policy, now })).findings
        .map((f) =>
          [
            f.package.id,
            f.advisory.id,
            f.advisory.kind,
            f.advisory.severity?.level ?? 'unscored',
            f.advisory.title,
            f.advisory.url,
            f.paths.map((p) => p.join('>')).join('|'),
          ].join(' '),
        )
        .sort();
    const fromNative = await describe(native);
    const fromOsv = await describe(osv);
    assert.deepEqual(fromOsv, fromNative, file);
    findings += fromNative.length;
  }
  // Not a vacuous agreement: thousands of packages, hundreds of findings.
  assert.ok(packages > 8000, `${packages} packages`);
  assert.ok(findings > 500, `${findings} findings`);
  native.index.close();
  osv.index.close();
});

/**
 * RustSec gives some pairs of its own advisories the same aliases: failure's RUSTSEC-2019-0036
 * (unsound) and RUSTSEC-2020-0036 (unmaintained), tor-circmgr's 2024-0339 and 2024-0340,
 * wasmtime's 2022-0016/0099, 0075/0098, 0076/0102 and 0096/0101. Each is its own advisory
 * and its own finding, read natively or from the OSV export.
 */
test('advisories of one database that share aliases stay distinct findings, native and OSV', async () => {
  const cacheRoot = tempDir('same-db-aliases');
  const dir = tempDir('same-db-aliases-app');
  const crate = (name: string, version: string): string =>
    `[[package]]\nname = "${name}"\nversion = "${version}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n`;
  writeFileSync(
    join(dir, 'Cargo.lock'),
    [
      'version = 3\n',
      '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "failure",\n "tor-circmgr",\n "wasmtime",\n]\n',
      crate('failure', '0.1.8'),
      crate('tor-circmgr', '0.18.0'),
      crate('wasmtime', '0.34.0'),
    ].join('\n'),
  );
  const [location] = findLockfiles(join(dir, 'Cargo.lock'));
  assert.ok(location);
  const graph = await readDependencyGraph(location);
  const policy = { ...DEFAULT_POLICY, ignores: [], maxDatabaseAgeDays: 100_000 };
  const now = new Date('2026-08-22T00:00:00Z');
  for (const source of [ADVISORY_DB_BUNDLE, `${ADVISORY_DB_BUNDLE}#osv`]) {
    const db = await openDatabase(parseDatabaseSpec(source), { cacheRoot, fetch: 'auto' });
    const ids = (await runAudit({ graphs: [graph], databases: [db], policy, now })).findings.map(
      (f) => `${f.package.name} ${f.advisory.id} ${f.advisory.kind}`,
    );
    db.index.close();
    for (const expected of [
      'failure RUSTSEC-2019-0036 unsound',
      'failure RUSTSEC-2020-0036 unmaintained',
      'tor-circmgr RUSTSEC-2024-0339 vulnerability',
      'tor-circmgr RUSTSEC-2024-0340 vulnerability',
      'wasmtime RUSTSEC-2022-0016 vulnerability',
      'wasmtime RUSTSEC-2022-0099 vulnerability',
      'wasmtime RUSTSEC-2022-0075 vulnerability',
      'wasmtime RUSTSEC-2022-0098 vulnerability',
      'wasmtime RUSTSEC-2022-0076 vulnerability',
      'wasmtime RUSTSEC-2022-0102 vulnerability',
      'wasmtime RUSTSEC-2022-0096 vulnerability',
      'wasmtime RUSTSEC-2022-0101 vulnerability',
    ]) {
      assert.ok(ids.includes(expected), `${source}: ${expected} missing from ${ids.join(', ')}`);
    }
    assert.equal(new Set(ids).size, ids.length, `${source}: a finding is listed twice`);
  }
});

/**
 * Every version either side of every bound the database writes, not only the versions real
 * lockfiles happen to lock: for each advisory's `patched` and `unaffected` requirement, its
 * version, the patch before and after it, pre-releases of it (`-0`, `-alpha.1`: below it in
 * SemVer, where RustSec's ranges and Cargo's requirements part ways) and of the next minor and
 * major, and for a pre-release bound (`>= 1.0.0-alpha.1`) one after it; plus 0.1.0 and 1.0.0 for
 * every advisory's crate, so that advisories with no fix (`patched = []`), informational and
 * withdrawn ones are compared too. The native reading and RustSec's own OSV export must give
 * the same findings for each, but for advisories only one side holds (the export keeps
 * RUSTSEC-2025-0000, which main renamed).
 */
test('native RustSec and its OSV export agree on every version next to every bound the database writes', async () => {
  const checkout = advisoryDbCheckout('origin/main');
  const versions = new Map<string, Set<string>>();
  for (const crate of readdirSync(join(checkout, 'crates'))) {
    for (const file of readdirSync(join(checkout, 'crates', crate))) {
      if (!file.endsWith('.md')) continue;
      const text = readFileSync(join(checkout, 'crates', crate, file), 'utf8');
      const front = /^```toml\n([\s\S]*?)\n```/.exec(text);
      assert.ok(front, file);
      const doc = parseToml(front[1] as string) as { advisory: { package: string }; versions: { patched?: string[]; unaffected?: string[] } };
      const set = versions.get(doc.advisory.package) ?? new Set(['0.1.0', '1.0.0']);
      versions.set(doc.advisory.package, set);
      for (const req of [...(doc.versions.patched ?? []), ...(doc.versions.unaffected ?? [])]) {
        for (const [, major, minor, patch, pre] of req.matchAll(/(\d+)\.(\d+)(?:\.(\d+))?(-[0-9A-Za-z.-]+)?/g)) {
          const [a, b, c] = [Number(major), Number(minor), Number(patch ?? 0)];
          const at = `${a}.${b}.${c}`;
          for (const v of [at, `${a}.${b}.${c + 1}`, `${at}-0`, `${at}-alpha.1`, `${a}.${b + 1}.0-rc.1`, `${a + 1}.0.0-beta`]) set.add(v);
          if (c > 0) set.add(`${a}.${b}.${c - 1}`);
          if (b > 0) set.add(`${a}.${b - 1}.99`);
          if (pre !== undefined) for (const v of [`${at}${pre}`, `${at}${pre}.1`, `${at}-zzz`]) set.add(v);
        }
      }
    }
  }
  const lines = ['version = 4', ''];
  let count = 0;
  for (const [name, set] of [...versions].sort(([x], [y]) => (x < y ? -1 : 1))) {
    for (const version of [...set].sort()) {
      lines.push('[[package]]', `name = "${name}"`, `version = "${version}"`, 'source = "registry+https://github.com/rust-lang/crates.io-index"', '');
      count++;
    }
  }
  const dir = tempDir('native-vs-osv-bounds');
  writeFileSync(join(dir, 'Cargo.lock'), lines.join('\n'));
  const [location] = findLockfiles(join(dir, 'Cargo.lock'));
  assert.ok(location);
  const graph = await readDependencyGraph(location);
  const cacheRoot = tempDir('native-vs-osv-bounds-cache');
  const policy = { ...DEFAULT_POLICY, ignores: [], maxDatabaseAgeDays: 100_000 };
  const now = new Date('2026-08-22T00:00:00Z');
  const findings = async (source: string): Promise<Set<string>> => {
    const db = await openDatabase(parseDatabaseSpec(source), { cacheRoot, fetch: 'auto' });
    const found = (await runAudit({ graphs: [graph], databases: [db], policy, now })).findings.map((f) => `${f.package.id} ${f.advisory.id} ${f.advisory.kind}`);
    db.index.close();
    return new Set(found);
  };
  const native = await findings(ADVISORY_DB_BUNDLE);
  const osv = await findings(`${ADVISORY_DB_BUNDLE}#osv`);
  const idOf = (finding: string): string => finding.split(' ')[1] as string;
  const nativeIds = new Set([...native].map(idOf));
  const osvIds = new Set([...osv].map(idOf));
  assert.deepEqual([...osvIds].filter((id) => !nativeIds.has(id)), ['RUSTSEC-2025-0000']);
  assert.deepEqual([...nativeIds].filter((id) => !osvIds.has(id)), []);
  assert.deepEqual([...osv].filter((f) => !native.has(f) && idOf(f) !== 'RUSTSEC-2025-0000'), [], 'found from the OSV export only');
  assert.deepEqual([...native].filter((f) => !osv.has(f)), [], 'found natively only');
  // Not a vacuous agreement: thousands of versions, most advisories matched.
  assert.ok(count > 7000, `${count} versions`);
  assert.ok(nativeIds.size > 850, `${nativeIds.size} advisories matched`);
});
