import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { Advisory } from '../../src/core/advisory.js';
import { InputError } from '../../src/core/errors.js';
import { severityFromCvss } from '../../src/core/severity.js';
import { parseOsvRecord } from '../../src/advisories/osv.js';
import { parseRustsecAdvisory } from '../../src/advisories/rustsec.js';
import { GHSA_NPM, PROJECT_ROOT, advisoryDbCheckout, corpusFiles } from '../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'osv');

function readGhsa(id: string): Advisory[] {
  return parseOsvRecord(readFileSync(join(GHSA_NPM, `${id}.json`), 'utf8'), `ghsa-npm/${id}.json`);
}

function fixtureError(name: string): InputError {
  try {
    parseOsvRecord(readFileSync(join(FIXTURES, name), 'utf8'), `fixtures/osv/${name}`);
  } catch (err) {
    assert.ok(err instanceof InputError, `${name}: ${String(err)}`);
    return err;
  }
  assert.fail(`${name} parsed without error`);
}

test('all GHSA npm records parse: npm entries only, one advisory per package', () => {
  const files = corpusFiles(GHSA_NPM, '.json');
  assert.equal(files.length, 102);
  const advisories = files.flatMap((f) => parseOsvRecord(readFileSync(f, 'utf8'), f));
  assert.equal(advisories.length, 113);
  assert.ok(advisories.every((a) => a.ecosystem === 'npm' && a.kind === 'vulnerability' && a.withdrawn === null));
  assert.ok(advisories.every((a) => a.severity !== null && a.title !== '' && a.url !== null));
  // Maven and NuGet entries (webjars, Moment.js) are skipped, not misread as npm packages.
  assert.ok(!advisories.some((a) => a.package.includes(':') || a.package === 'Moment.js'));
});

test('a GHSA record in full: color-string ReDoS (GHSA-257v-vj4p-3w2h)', () => {
  const [advisory, ...rest] = readGhsa('GHSA-257v-vj4p-3w2h');
  assert.equal(rest.length, 0);
  assert.ok(advisory);
  assert.equal(advisory.id, 'GHSA-257v-vj4p-3w2h');
  assert.deepEqual(advisory.aliases, ['CVE-2021-29060']);
  assert.equal(advisory.package, 'color-string');
  assert.equal(advisory.title, 'Regular Expression Denial of Service (ReDOS)');
  assert.match(advisory.description, /^In the npm package `color-string`/);
  assert.equal(advisory.published, '2021-06-22T01:14:09Z');
  assert.equal(advisory.modified, '2021-06-30T18:03:29Z');
  assert.deepEqual(advisory.severity, { level: 'medium', score: 5.3, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L' });
  assert.equal(advisory.url, 'https://nvd.nist.gov/vuln/detail/CVE-2021-29060');
  assert.equal(advisory.references.length, 6);
  assert.deepEqual(advisory.patched, ['>= 1.5.5']);
  assert.deepEqual(advisory.affected, [
    { form: 'osv', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.5.5' }] }], versions: [] },
  ]);
});

test('several entries of one package merge; patched versions are bounded per branch', () => {
  const [ws, ...rest] = readGhsa('GHSA-3h5v-q93c-6h6q');
  assert.equal(rest.length, 0);
  assert.ok(ws);
  assert.equal(ws.package, 'ws');
  assert.equal(ws.affected.length, 4);
  assert.deepEqual(ws.patched, ['>= 5.2.4, < 6.0.0', '>= 6.2.3, < 7.0.0', '>= 7.5.10, < 8.0.0', '>= 8.17.1']);
  // The repository's own security advisory names the GHSA id: that is the advisory's page.
  assert.equal(ws.url, 'https://github.com/websockets/ws/security/advisories/GHSA-3h5v-q93c-6h6q');
});

test('records naming other ecosystems keep only the npm package', () => {
  const handlebars = readGhsa('GHSA-f2jv-r9rf-7988');
  assert.deepEqual(handlebars.map((a) => a.package), ['handlebars']);
  const moment = readGhsa('GHSA-wc69-rhjr-hc9g');
  assert.deepEqual(moment.map((a) => a.package), ['moment']);
  assert.deepEqual(moment[0]?.unaffected, ['< 2.18.0']);
});

test('GHSA quirks: capital letters kept, lowercase label, no vector, v4 with label', () => {
  const [axios] = readGhsa('GHSA-8hc4-vh64-cxmj');
  assert.equal(axios?.package, 'Axios');
  assert.deepEqual(axios?.severity, { level: 'high', score: null, vector: null });
  // `"severity": "moderate"` in lowercase, and no CVSS vector.
  const lodash = readGhsa('GHSA-x5rq-j2xg-h7qm');
  assert.deepEqual(lodash.map((a) => [a.package, a.severity?.level]), [
    ['lodash', 'medium'],
    ['lodash-amd', 'medium'],
  ]);
  // v3 and v4 vectors: the v4 vector is reported, and GitHub's LOW (from the v4 score) is the level.
  const [elliptic] = readGhsa('GHSA-434g-2637-qmqr');
  assert.equal(elliptic?.package, 'elliptic');
  assert.deepEqual(elliptic?.severity, {
    level: 'low',
    score: 2.7,
    vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N/E:U',
  });
  // last_affected gives no patched version.
  assert.deepEqual(readGhsa('GHSA-w573-4hg7-7wgq')[0]?.patched, []);
});

test('title falls back to the first line of details; aliases never repeat the id', () => {
  const [parser, crate, ...rest] = parseOsvRecord(
    readFileSync(join(FIXTURES, 'limit-git-and-others.json'), 'utf8'),
    'limit-git-and-others.json',
  );
  assert.equal(rest.length, 0);
  assert.equal(parser?.title, 'Parser hangs on nested input');
  assert.deepEqual(parser?.aliases, ['CVE-2024-00001']);
  assert.equal(parser?.url, 'https://osv.dev/vulnerability/OSV-TEST-2024-0001');
  assert.equal(parser?.severity, null);
  assert.deepEqual([crate?.ecosystem, crate?.package, crate?.patched], ['cargo', 'tiny_parser', ['>= 0.3.1']]);
});

test("a record with no page of its own links to osv.dev's page of its id, which cannot point elsewhere", () => {
  const urlOf = (id: string): string | undefined =>
    parseOsvRecord(JSON.stringify({ id, affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }] }), 'x.json')[0]?.url ?? undefined;
  assert.equal(urlOf('GHSA-aaaa-bbbb-cccc'), 'https://osv.dev/vulnerability/GHSA-aaaa-bbbb-cccc');
  for (const id of ['../../evil.example/x', 'X?next=//evil.example', 'X#frag', '..', '.', 'a/b']) {
    const url = new URL(urlOf(id) as string);
    assert.equal(url.origin, 'https://osv.dev', id);
    assert.equal(url.hash, '', id);
    // The page is the id's: on osv.dev's record path, its one segment decoding to the id, or osv.dev's search for it.
    if (url.pathname === '/list') assert.equal(url.searchParams.get('q'), id);
    else assert.deepEqual([url.pathname.startsWith('/vulnerability/'), decodeURIComponent(url.pathname.slice('/vulnerability/'.length))], [true, id], id);
  }
});

test('malformed records are InputErrors naming the file and what is wrong', () => {
  const json = fixtureError('trailing-comma.json');
  assert.equal(json.file, 'fixtures/osv/trailing-comma.json');
  assert.deepEqual(json.position, { line: 4, column: 58 });
  assert.match(json.message, /invalid JSON: expected a property name in double quotes, found '\}'/);
  assert.equal(json.line, "fixtures/osv/trailing-comma.json:4:58: invalid JSON: expected a property name in double quotes, found '}'");

  assert.equal(fixtureError('missing-id.json').message, 'missing "id"');
  assert.equal(fixtureError('affected-not-array.json').message, 'GHSA-test-aff-0001: "affected" must be an array');
  assert.equal(
    fixtureError('bad-event.json').message,
    'GHSA-test-evt-0001: affected[0].ranges[0].events[1] must have exactly one of introduced, fixed, last_affected, limit, got "fixd"',
  );
  assert.match(fixtureError('bad-cvss.json').message, /^GHSA-test-cvss-0001: malformed CVSS vector .*missing base metric S$/);

  const inline = (text: string): string => {
    try {
      parseOsvRecord(text, 'inline.json');
    } catch (err) {
      assert.ok(err instanceof InputError);
      return err.line;
    }
    return assert.fail('parsed');
  };
  assert.equal(inline(''), 'inline.json:1:1: invalid JSON: the file is empty');
  assert.equal(inline('[]'), 'inline.json: the record must be a JSON object, got an array');
  assert.equal(inline('{"id": 7}'), 'inline.json: "id" must be a non-empty string');
  assert.equal(inline('{\n"id": "X-1",\n"summary": "s\n"}'), 'inline.json:3:14: invalid JSON: control character in string (newlines must be written \\n)');
  assert.equal(
    inline('{"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}'),
    'inline.json: X-1: affected[0].ranges[0].events[0] must have exactly one of introduced, fixed, last_affected, limit, got "introduced", "fixed"',
  );
  assert.equal(
    inline('{"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.0"}]}]}]}'),
    'inline.json: X-1: affected[0].ranges[0] has no "introduced" event',
  );
  assert.equal(
    inline('{"id":"X-1","affected":[{"package":{"ecosystem":"npm","name":"a"},"ranges":[{"type":"RANGE","events":[]}]}]}'),
    'inline.json: X-1: affected[0].ranges[0].type must be one of SEMVER, ECOSYSTEM, GIT, got "RANGE"',
  );
  assert.equal(inline('{"id":"X-1","affected":[{"package":{"name":"a"}}]}'), 'inline.json: X-1: affected[0].package.ecosystem must be a non-empty string');
});

interface NativeAdvisory {
  id: string;
  package: string;
  aliases?: string[];
  related?: string[];
  informational?: string;
  cvss?: string;
  withdrawn?: string;
  date: string;
  url?: string;
  categories?: string[];
  keywords?: string[];
}

/**
 * The OSV export against the native TOML it was generated from (branch origin/main of the
 * same bundle), read here with a minimal front-matter split rather than the native reader.
 */
test('the RustSec OSV export reads like the native advisories', () => {
  const osvDir = join(advisoryDbCheckout('origin/osv'), 'crates');
  const nativeRoot = join(advisoryDbCheckout('origin/main'), 'crates');
  const osvFiles = readdirSync(osvDir).filter((f) => f.endsWith('.json'));
  const fromOsv = new Map<string, Advisory>();
  for (const file of osvFiles) {
    const advisories = parseOsvRecord(readFileSync(join(osvDir, file), 'utf8'), `crates/${file}`);
    assert.equal(advisories.length, 1, file);
    const [advisory] = advisories as [Advisory];
    assert.equal(advisory.ecosystem, 'cargo');
    fromOsv.set(advisory.id, advisory);
  }

  const kinds = new Map<string, number>();
  let compared = 0;
  for (const crate of readdirSync(nativeRoot)) {
    for (const file of readdirSync(join(nativeRoot, crate)).filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(nativeRoot, crate, file), 'utf8');
      const match = /^```toml\n([\s\S]*?)\n```\n([\s\S]*)$/.exec(text);
      assert.ok(match, file);
      const toml = parseToml(match[1] ?? '') as unknown as { advisory: NativeAdvisory; versions?: { patched?: string[] } };
      const native = toml.advisory;
      const title = (match[2] ?? '').trim().split('\n')[0]?.replace(/^#\s*/, '').trim();
      const osv = fromOsv.get(native.id);
      assert.ok(osv, `${native.id} is in the OSV export`);
      const where = `${native.id} (${crate})`;
      assert.equal(osv.package, native.package, where);
      assert.deepEqual(osv.aliases, native.aliases ?? [], where);
      assert.deepEqual(osv.related, native.related ?? [], where);
      assert.equal(osv.kind, native.informational ?? 'vulnerability', where);
      assert.equal(osv.title, title, where);
      assert.deepEqual(osv.severity, native.cvss ? severityFromCvss(native.cvss) : null, where);
      assert.deepEqual(osv.categories, native.categories ?? [], where);
      assert.equal(osv.published?.slice(0, 10), String(native.date), where);
      // The export writes dates as timestamps: 2023-02-19 becomes 2023-02-19T12:00:00Z.
      assert.equal(osv.withdrawn?.slice(0, 10) ?? null, native.withdrawn ?? null, where);
      assert.equal(osv.url, `https://rustsec.org/advisories/${native.id}.html`, where);
      if (native.url) assert.ok(osv.references.includes(native.url), `${where}: native url among references`);
      kinds.set(osv.kind, (kinds.get(osv.kind) ?? 0) + 1);
      compared++;
    }
  }
  assert.equal(compared, 1205);
  // One record, RUSTSEC-2025-0000, is in the export only: a stale copy of RUSTSEC-2025-0065.
  assert.equal(osvFiles.length, 1206);
  assert.deepEqual(fromOsv.get('RUSTSEC-2025-0000')?.aliases, fromOsv.get('RUSTSEC-2025-0065')?.aliases);
  assert.deepEqual(Object.fromEntries(kinds), { vulnerability: 729, unmaintained: 267, unsound: 203, notice: 6 });
});

test('RustSec specifics from the export: informational kind, functions, os, patched text', () => {
  const dir = join(advisoryDbCheckout('origin/osv'), 'crates');
  const read = (id: string): Advisory => {
    const [advisory] = parseOsvRecord(readFileSync(join(dir, `${id}.json`), 'utf8'), `crates/${id}.json`);
    assert.ok(advisory);
    return advisory;
  };
  const openssl = read('RUSTSEC-2016-0001');
  assert.deepEqual([openssl.package, openssl.kind, openssl.severity?.score, openssl.patched], ['openssl', 'vulnerability', 8.1, ['>= 0.9.0']]);
  assert.deepEqual(read('RUSTSEC-2025-0065').functions, { 'matrix_sdk_base::RoomMember::normalized_power_level': [] });
  // Native `patched = [">= 1.2.3, < 1.3.0"]` style lists come back with the same bounds.
  assert.deepEqual(read('RUSTSEC-2025-0071').patched, ['>= 3.3.1, < 4.0.0', '>= 4.0.1, < 4.1.0', '>= 4.1.2']);
});

test('the OSV reader and the native RustSec reader agree on every field a report shows', () => {
  const osvDir = join(advisoryDbCheckout('origin/osv'), 'crates');
  const nativeRoot = join(advisoryDbCheckout('origin/main'), 'crates');
  let compared = 0;
  let samePatchedText = 0;
  for (const crate of readdirSync(nativeRoot)) {
    for (const file of readdirSync(join(nativeRoot, crate)).filter((f) => f.endsWith('.md'))) {
      const origin = `crates/${crate}/${file}`;
      const { advisory: native } = parseRustsecAdvisory(readFileSync(join(nativeRoot, crate, file), 'utf8'), origin);
      const id = file.replace(/\.md$/, '');
      const [osv] = parseOsvRecord(readFileSync(join(osvDir, `${id}.json`), 'utf8'), `crates/${id}.json`);
      assert.ok(osv, id);
      const shown = (a: Advisory) => ({
        id: a.id,
        aliases: a.aliases,
        kind: a.kind,
        title: a.title,
        severity: a.severity,
        url: a.url,
        ecosystem: a.ecosystem,
        package: a.package,
        // Same day; the export writes it as a timestamp (T12:00:00Z).
        withdrawn: a.withdrawn?.slice(0, 10) ?? null,
      });
      assert.deepEqual(shown(osv), shown(native), id);
      if (JSON.stringify(osv.patched) === JSON.stringify(native.patched)) samePatchedText++;
      compared++;
    }
  }
  assert.equal(compared, 1205);
  // `patched` is re-rendered from OSV events: the same bounds, not always the same text
  // (`^0.9.5`, `> 0.7.19`, `>=0.4.20` are written by hand in the TOML).
  assert.ok(samePatchedText > 1000, `${samePatchedText} of ${compared} patched lists word for word`);
});

/** The error line for a record with `fields` on top of a minimal valid one, or null when it parses. */
function variantError(fields: Record<string, unknown>, affected: unknown = { package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }): string | null {
  try {
    parseOsvRecord(JSON.stringify({ id: 'GHSA-vvvv-vvvv-vvvv', modified: '2026-01-01T00:00:00Z', affected: [affected], ...fields }), 'variant.json');
  } catch (err) {
    assert.ok(err instanceof InputError, String(err));
    return err.line;
  }
  return null;
}

test('timestamps that are not RFC 3339 fail the load, naming the field: a junk "withdrawn" would hide the advisory', () => {
  for (const field of ['withdrawn', 'published', 'modified']) {
    for (const value of ['yesterday', '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '2024-01-01', '2024-01-01T25:00:00Z', '2024-01-01T00:00:00']) {
      assert.equal(
        variantError({ [field]: value }),
        `variant.json: GHSA-vvvv-vvvv-vvvv: "${field}" is not an RFC 3339 timestamp: ${JSON.stringify(value)}`,
        `${field} ${value}`,
      );
    }
    assert.equal(variantError({ [field]: 20240101 }), `variant.json: GHSA-vvvv-vvvv-vvvv: "${field}" must be a string, got number 20240101`);
  }
  for (const value of ['2024-02-29T00:00:00Z', '2024-08-12T15:30:49.123Z', '2024-08-12T15:30:49+02:00', '2016-12-31T23:59:60Z']) {
    assert.equal(variantError({ withdrawn: value }), null, value);
  }
});

test('a record of another major schema version fails the load', () => {
  assert.equal(variantError({ schema_version: '2.0.0' }), 'variant.json: GHSA-vvvv-vvvv-vvvv: "schema_version" is "2.0.0": this reader knows OSV schema 1.x');
  assert.equal(variantError({ schema_version: 'latest' }), 'variant.json: GHSA-vvvv-vvvv-vvvv: "schema_version" is "latest": this reader knows OSV schema 1.x');
  assert.equal(variantError({ schema_version: '1.6.6' }), null);
});

test('our ecosystems spelt otherwise fail the load; other ecosystems are skipped', () => {
  for (const ecosystem of ['NPM', 'Npm', ' npm', 'npm:registry', 'Crates.io', 'crates.io ', 'CRATES.IO']) {
    const expected = ecosystem.trim().toLowerCase().startsWith('npm') ? 'npm' : 'crates.io';
    assert.equal(
      variantError({}, { package: { ecosystem, name: 'left-pad' }, versions: ['1.0.0'] }),
      `variant.json: GHSA-vvvv-vvvv-vvvv: affected[0].package.ecosystem is "${ecosystem}": the OSV name of this ecosystem is "${expected}"`,
    );
  }
  for (const ecosystem of ['Maven', 'PyPI', 'Root:npm', 'NuGet']) {
    assert.deepEqual(
      parseOsvRecord(JSON.stringify({ id: 'X-1', affected: [{ package: { ecosystem, name: 'left-pad' }, versions: ['1.0.0'] }] }), 'x.json'),
      [],
      ecosystem,
    );
  }
});

test('a package name no npm package or crate can have fails the load', () => {
  const npm = (name: string): string | null => variantError({}, { package: { ecosystem: 'npm', name }, versions: ['1.0.0'] });
  for (const name of [' left-pad', '.bin', '_private', 'left pad', 'node_modules', '@scope/.x', 'a/b/c']) {
    const line = npm(name) ?? '';
    assert.ok(line.startsWith(`variant.json: GHSA-vvvv-vvvv-vvvv: affected[0].package.name ${JSON.stringify(name)} `), line);
    assert.ok(line.endsWith(': no npm package can have it'), line);
  }
  // Names old packages may have: capitals, special characters, scopes.
  for (const name of ['JSONStream', 'Base64', "don't-do-it", '@types/node', '@Scope/Pkg']) assert.equal(npm(name), null, name);
  const crate = (name: string): string | null => variantError({}, { package: { ecosystem: 'crates.io', name }, versions: ['1.0.0'] });
  for (const name of ['serde json', 'serde.json', 'séance']) assert.match(crate(name) ?? '', /: no crate can have it$/, name);
  assert.equal(crate('Serde_JSON-2'), null);
});

test('an affected entry with neither versions nor a version range affects every version, with a caveat', () => {
  for (const affected of [
    { package: { ecosystem: 'npm', name: 'left-pad' } },
    { package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [], versions: [] },
    { package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'GIT', repo: 'https://example.org/x', events: [{ introduced: 'abc' }] }] },
  ]) {
    const [advisory] = parseOsvRecord(JSON.stringify({ id: 'X-1', affected: [affected] }), 'x.json');
    assert.deepEqual(advisory?.affected, [{ form: 'osv', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }], versions: [] }]);
    assert.deepEqual(advisory?.caveats, [
      'affected[0] (left-pad) gives no versions and no SEMVER or ECOSYSTEM range, so every version is taken as affected',
    ]);
  }
  // A versions list alone, or a version range, is no caveat.
  const [listed] = parseOsvRecord(JSON.stringify({ id: 'X-1', affected: [{ package: { ecosystem: 'npm', name: 'a' }, versions: ['1.0.0'] }] }), 'x.json');
  assert.equal(listed?.caveats, undefined);
});

test('a range with both "fixed" and "last_affected" fails the load; an unknown informational kind is a notice with a caveat', () => {
  assert.equal(
    variantError({}, { package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.0.0' }, { last_affected: '1.0.0' }] }] }),
    'variant.json: GHSA-vvvv-vvvv-vvvv: affected[0].ranges[0] has both "fixed" and "last_affected" events',
  );
  const [odd] = parseOsvRecord(
    JSON.stringify({
      id: 'RUSTSEC-2099-0001',
      affected: [{ package: { ecosystem: 'crates.io', name: 'a' }, versions: ['1.0.0'], database_specific: { informational: 'deprecated' } }],
    }),
    'x.json',
  );
  assert.equal(odd?.kind, 'notice');
  assert.deepEqual(odd?.caveats, ['unknown informational kind "deprecated", reported as a notice']);
});

test("an ecosystem or informational kind named after Object.prototype's members is nobody's: skipped, or a notice, never read as an entry of stowage's tables", () => {
  const record = (ecosystem: string, informational?: string) =>
    JSON.stringify({
      schema_version: '1.4.0',
      id: 'OSV-2099-0001',
      modified: '2026-01-01T00:00:00Z',
      affected: [
        {
          package: { ecosystem, name: 'left-pad' },
          ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }],
          ...(informational === undefined ? {} : { database_specific: { informational } }),
        },
      ],
    });
  for (const ecosystem of ['constructor', 'toString', '__proto__']) assert.deepEqual(parseOsvRecord(record(ecosystem), 'x.json'), [], ecosystem);
  const [notice] = parseOsvRecord(record('npm', 'constructor'), 'x.json');
  assert.equal(notice?.kind, 'notice');
});
