import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parseRustsecAdvisory, type RustsecRecord } from '../../src/advisories/rustsec.js';
import { InputError } from '../../src/core/errors.js';
import { cargoVersionScheme } from '../../src/ecosystems/cargo/version.js';
import { advisoryDbCheckout, PROJECT_ROOT } from '../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'rustsec');

/** Every advisory file of a collection, as `collection/dir/file` paths relative to the root. */
function advisoryFiles(root: string, collection: 'crates' | 'rust'): string[] {
  const files: string[] = [];
  for (const dir of readdirSync(join(root, collection)).sort()) {
    for (const file of readdirSync(join(root, collection, dir)).sort()) {
      if (file.endsWith('.md')) files.push(`${collection}/${dir}/${file}`);
    }
  }
  return files;
}

function readAll(root: string): Map<string, RustsecRecord> {
  const records = new Map<string, RustsecRecord>();
  for (const rel of [...advisoryFiles(root, 'crates'), ...advisoryFiles(root, 'rust')]) {
    records.set(rel, parseRustsecAdvisory(readFileSync(join(root, rel), 'utf8'), rel));
  }
  return records;
}

const main = advisoryDbCheckout('origin/main');
const records = readAll(main);

function record(rel: string): RustsecRecord {
  const r = records.get(rel);
  assert.ok(r, `${rel} was read`);
  return r;
}

test('every advisory of the main branch parses, with the real counts', () => {
  const crates = [...records.values()].filter((r) => r.collection === 'crates');
  const rust = [...records.values()].filter((r) => r.collection === 'rust');
  assert.equal(crates.length, 1205, 'crate advisories (README of shared/: 1,205)');
  assert.equal(rust.length, 20, 'toolchain advisories under rust/');
  assert.deepEqual([...new Set(rust.map((r) => r.advisory.package))].sort(), ['cargo', 'rustdoc', 'std']);

  const kinds = new Map<string, number>();
  for (const r of crates) kinds.set(r.advisory.kind, (kinds.get(r.advisory.kind) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(kinds), { vulnerability: 729, unsound: 203, unmaintained: 267, notice: 6 });
  assert.equal(crates.filter((r) => r.advisory.withdrawn !== null).length, 13);
  assert.equal(crates.filter((r) => r.advisory.severity !== null).length, 417, 'CVSS 3.0, 3.1 and 4.0 vectors');

  const ids = new Set(crates.map((r) => r.advisory.id));
  assert.equal(ids.size, 1205, 'ids are unique');
  for (const [rel, r] of records) {
    const a = r.advisory;
    assert.equal(rel.split('/').pop(), `${a.id}.md`, `${rel}: file named after its id`);
    assert.equal(rel.split('/')[1], a.package, `${rel}: directory named after its package`);
    assert.equal(a.ecosystem, 'cargo');
    assert.equal(a.origin, rel);
    assert.ok(a.title.length > 0, `${rel}: title`);
    assert.ok(!a.aliases.includes(a.id), `${rel}: aliases never include the id`);
    // The ranges, against the file's own [versions] table read with a TOML library.
    const front = /^```toml\n([\s\S]*?)\n```/m.exec(readFileSync(join(main, rel), 'utf8'))?.[1] ?? '';
    const versions = (parseToml(front).versions ?? {}) as { patched?: string[]; unaffected?: string[] };
    // The semver crate reads a requirement with spaces around it (RUSTSEC-2026-0075 writes `>= 0.0.7 `).
    const trimmed = (list: string[] | undefined): string[] => (list ?? []).map((r) => r.trim());
    assert.deepEqual(a.affected, [{ form: 'requirements', patched: trimmed(versions.patched), unaffected: trimmed(versions.unaffected) }], rel);
  }
});

test('an advisory with a CVSS v3.1 vector: RUSTSEC-2021-0078 (hyper)', () => {
  const { collection, advisory: a } = record('crates/hyper/RUSTSEC-2021-0078.md');
  assert.equal(collection, 'crates');
  assert.equal(a.id, 'RUSTSEC-2021-0078');
  assert.equal(a.package, 'hyper');
  assert.equal(a.kind, 'vulnerability');
  assert.equal(a.title, 'Lenient `hyper` header parsing of `Content-Length` could allow request smuggling');
  assert.ok(a.description.startsWith("`hyper`'s HTTP header parser accepted, according to RFC 7230"));
  assert.ok(a.description.endsWith('an attack exploiting this vulnerability is unlikely.'));
  assert.equal(a.published, '2021-07-07');
  assert.equal(a.withdrawn, null);
  assert.deepEqual(a.aliases, ['CVE-2021-32715', 'GHSA-f3pg-qwvg-p99c']);
  assert.deepEqual(a.keywords, ['parsing', 'http']);
  assert.deepEqual(a.categories, []);
  assert.deepEqual(a.severity, { level: 'medium', score: 5.3, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N' });
  assert.equal(a.url, 'https://rustsec.org/advisories/RUSTSEC-2021-0078.html');
  assert.deepEqual(a.references, ['https://github.com/hyperium/hyper/security/advisories/GHSA-f3pg-qwvg-p99c']);
  assert.deepEqual(a.patched, ['>= 0.14.10']);
  assert.deepEqual(a.unaffected, []);
  assert.equal(cargoVersionScheme.isAffected('0.14.9', a.affected[0]!), true);
  assert.equal(cargoVersionScheme.isAffected('0.14.10', a.affected[0]!), false);
});

test('a CVSS v4.0 vector is kept and rated: RUSTSEC-2026-0066 (astral-tokio-tar)', () => {
  const { advisory: a } = record('crates/astral-tokio-tar/RUSTSEC-2026-0066.md');
  assert.equal(a.severity?.vector, 'CVSS:4.0/AV:N/AC:H/AT:P/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N/E:U');
  assert.equal(a.severity?.level, 'low');
});

test('an informational unmaintained advisory: RUSTSEC-2025-0056 (adler)', () => {
  const { advisory: a } = record('crates/adler/RUSTSEC-2025-0056.md');
  assert.equal(a.kind, 'unmaintained');
  assert.equal(a.package, 'adler');
  assert.equal(a.title, 'adler crate is unmaintained, use adler2 instead');
  assert.ok(a.description.includes('## Recommended alternatives'));
  assert.equal(a.severity, null);
  assert.deepEqual(a.patched, []);
  assert.deepEqual(a.references, ['https://github.com/jonas-schievink/adler']);
  // No patched version: every version is affected.
  assert.equal(cargoVersionScheme.isAffected('1.0.2', a.affected[0]!), true);
});

test('a withdrawn advisory: RUSTSEC-2022-0044 (markdown)', () => {
  const { advisory: a } = record('crates/markdown/RUSTSEC-2022-0044.md');
  assert.equal(a.withdrawn, '2025-04-28');
  assert.equal(a.published, '2022-01-17');
  assert.equal(a.kind, 'unmaintained');
  assert.equal(a.title, '`markdown` (1.0.0 and higher) is maintained');
  // The description keeps its own later `# ` heading.
  assert.ok(a.description.includes('# `markdown` (0.3.0 and lower) was unmaintained'));
  assert.deepEqual(a.patched, ['>= 1.0.0-alpha.1']);
});

test('[affected] functions and unaffected: RUSTSEC-2023-0074 (zerocopy)', () => {
  const { advisory: a } = record('crates/zerocopy/RUSTSEC-2023-0074.md');
  assert.deepEqual(a.unaffected, ['< 0.2.2']);
  assert.equal(a.patched.length, 6);
  assert.equal(a.patched[5], '>= 0.7.31');
  assert.deepEqual(Object.keys(a.functions), [
    'zerocopy::Ref::into_ref',
    'zerocopy::Ref::into_mut',
    'zerocopy::Ref::into_slice',
    'zerocopy::Ref::into_mut_slice',
  ]);
  assert.deepEqual(a.functions['zerocopy::Ref::into_ref']?.[0], '>= 0.2.2, < 0.2.9');
  assert.deepEqual(a.aliases, ['GHSA-3mv5-343c-w2qg', 'GHSA-rjhf-4mh8-9xjq']);
  const affected = (v: string): boolean => cargoVersionScheme.isAffected(v, a.affected[0]!);
  assert.equal(affected('0.2.1'), false, 'unaffected');
  assert.equal(affected('0.2.2'), true);
  assert.equal(affected('0.6.5'), true);
  assert.equal(affected('0.6.6'), false, 'patched');
  assert.equal(affected('0.7.30'), true);
  assert.equal(affected('0.7.31'), false);
});

test('a toolchain advisory under rust/: CVE-2018-1000810 (std)', () => {
  const { collection, advisory: a } = record('rust/std/CVE-2018-1000810.md');
  assert.equal(collection, 'rust');
  assert.equal(a.id, 'CVE-2018-1000810');
  assert.equal(a.package, 'std');
  assert.equal(a.title, 'Buffer overflow vulnerability in str::repeat()');
  assert.equal(a.severity?.score, 9.8);
  assert.deepEqual(a.categories, ['denial-of-service', 'memory-corruption']);
  assert.deepEqual(a.functions, { 'std::str::repeat': ['< 1.29.1, >= 1.26.0'] });
  assert.equal(a.url, 'https://www.cve.org/CVERecord?id=CVE-2018-1000810');
  assert.equal(cargoVersionScheme.isAffected('1.29.0', a.affected[0]!), true);
  assert.equal(cargoVersionScheme.isAffected('1.25.0', a.affected[0]!), false);
});

function fixture(rel: string): () => RustsecRecord {
  return () => parseRustsecAdvisory(readFileSync(join(FIXTURES, rel), 'utf8'), rel);
}

function assertInputError(rel: string, message: RegExp, line?: number): void {
  assert.throws(fixture(rel), (err: unknown) => {
    assert.ok(err instanceof InputError, `${rel}: an InputError, got ${String(err)}`);
    assert.equal(err.file, rel);
    assert.match(err.message, message);
    assert.ok(!err.message.includes('\n'), 'one line');
    if (line !== undefined) assert.equal(err.position?.line, line, `${rel}: line`);
    return true;
  });
}

test('broken advisories are InputErrors that name the file', () => {
  assertInputError('crates/no-front-matter/RUSTSEC-2099-0001.md', /missing TOML front matter/, 1);
  assertInputError('crates/bad-toml/RUSTSEC-2099-0002.md', /invalid TOML front matter/, 6);
  assertInputError('crates/missing-id/RUSTSEC-2099-0003.md', /missing `advisory\.id`/, 2);
  assertInputError('crates/bad-patched/RUSTSEC-2099-0004.md', /invalid version requirement ">= 1\.2\.3 \|\| >= 2\.0\.0"/, 8);
  assertInputError('crates/overlapping/RUSTSEC-2099-0005.md', /overlapping version ranges/, 8);
  assertInputError('crates/bad-id/RUSTSEC-2099-0006.md', /invalid advisory id "RUSTSEC-99-6"/, 3);
  assertInputError('crates/no-title/RUSTSEC-2099-0007.md', /"# Title" heading/, 10);
  const err = (() => {
    try {
      fixture('crates/bad-patched/RUSTSEC-2099-0004.md')();
    } catch (e) {
      return e as InputError;
    }
    return null;
  })();
  assert.match(err?.line ?? '', /^crates\/bad-patched\/RUSTSEC-2099-0004\.md:8: \[versions\]: invalid version requirement/);
});

test('in-memory variants of a real advisory fail where they should', () => {
  const rel = 'crates/hyper/RUSTSEC-2021-0078.md';
  const text = readFileSync(join(main, rel), 'utf8');
  const parse = (t: string, origin = rel): RustsecRecord => parseRustsecAdvisory(t, origin);
  const fails = (t: string, message: RegExp, origin = rel): void => {
    assert.throws(() => parse(t, origin), (e: unknown) => e instanceof InputError && e.file === origin && message.test(e.message));
  };
  fails(text.replace('package = "hyper"\n', ''), /missing `advisory\.package`/);
  fails(text.replace('date = "2021-07-07"', 'date = "2021-02-30"'), /not a valid date/);
  fails(text.replace('date = "2021-07-07"\n', ''), /missing `advisory\.date`/);
  fails(text.replace('[versions]\npatched = [">= 0.14.10"]\n', ''), /missing \[versions\]/);
  fails(text.replace('patched = [">= 0.14.10"]', 'patched = ">= 0.14.10"'), /`versions\.patched` must be an array of strings/);
  fails(text.replace('patched = [">= 0.14.10"]', 'patched = [">= 0.14.10", ">= 0.15, < 0.14"]'), /start lies after its end/);
  fails(text.replace('cvss = "CVSS:3.1/AV:N/', 'cvss = "CVSS:3.1/AV:Q/'), /invalid `advisory\.cvss`/);
  fails(text.replace('[versions]', 'title = "set in TOML"\n[versions]'), /`title` must not be set/);
  fails(text.replace(/\n```\n/, '\n'), /unterminated TOML front matter/);
  fails(text, /under crates\/ or rust\//, 'hyper/RUSTSEC-2021-0078.md');
  // CRLF line endings read the same.
  const crlf = parse(text.replace(/\n/g, '\r\n')).advisory;
  assert.equal(crlf.title, 'Lenient `hyper` header parsing of `Content-Length` could allow request smuggling');
  assert.deepEqual(crlf.patched, ['>= 0.14.10']);
});

test('a valid advisory in the older form without [advisory], with an unknown informational kind', () => {
  const { collection, advisory: a } = fixture('crates/tidy-crate/RUSTSEC-2099-0010.md')();
  assert.equal(collection, 'crates');
  assert.equal(a.id, 'RUSTSEC-2099-0010');
  assert.equal(a.published, '2024-02-29');
  // rustsec reads an unknown value as Informational::Other: informational, never a vulnerability;
  // a notice here, and the report says why.
  assert.equal(a.kind, 'notice');
  assert.match(a.caveats?.[0] ?? '', /^unknown informational kind ".*", reported as a notice$/);
  assert.deepEqual(a.aliases, ['CVE-2099-12345']);
  assert.deepEqual(a.references, ['https://example.org/one']);
  assert.deepEqual(a.os, ['windows']);
  assert.deepEqual(a.arch, ['x86_64']);
  assert.equal(a.title, 'A valid advisory in older form');
  assert.equal(a.description, 'Details.');
  const affected = (v: string): boolean => cargoVersionScheme.isAffected(v, a.affected[0]!);
  assert.equal(affected('0.4.9'), false, 'unaffected < 0.5');
  assert.equal(affected('0.5.0'), true);
  assert.equal(affected('1.7.0'), false, 'patched 1.*');
  assert.equal(affected('2.0.0-alpha.1'), true, '1.* ends at 2.0.0-0');
  assert.equal(affected('3.0.0-alpha.1'), true);
  assert.equal(affected('3.0.0-beta.1'), false);
});
