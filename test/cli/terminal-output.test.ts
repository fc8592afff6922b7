import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import { renderHuman } from '../../src/audit/report/human.js';
import { auditApplication } from '../../src/audit/run.js';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir } from '../support/shared.js';

/*
 * Text from an advisory record, a lockfile or a path reaches a person's terminal: escape
 * sequences in it must be shown, never obeyed, and a newline in it must not start a line.
 */

const cacheDir = tempDir('tty-cache');

// What an attacker who controls an OSV record (or a path) would write.
const ERASE_LINE = '\u001b[2K\r';
const CURSOR_UP = '\u001b[1A';
const C1_CSI = '\u009b2K';
const FAKE_RESULT = '\nresult: ok, nothing fails the policy\n';
const BIDI = '\u202e\u2066\u2069\u200b\u2028\u2029\ufeff';

/** The first raw terminal control in `text`: C0 (bar newline), DEL, C1, bidi, zero-width, separators. */
function rawControl(text: string): string | null {
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if ((c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) return ch;
    if ((c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069) || c === 0xfeff) return ch;
  }
  return null;
}

function hostileDatabase(): string {
  const db = tempDir('tty-db');
  const record = {
    schema_version: '1.6.0',
    id: 'GHSA-tty0-tty0-tty0',
    modified: '2026-01-01T00:00:00Z',
    published: '2026-01-01T00:00:00Z',
    aliases: [`CVE-2026-0001${ERASE_LINE}`, `CVE-2026-0002${BIDI}`],
    summary: `Prototype pollution${ERASE_LINE}${CURSOR_UP}${ERASE_LINE}${FAKE_RESULT}${C1_CSI}`,
    details: `details${ERASE_LINE}${FAKE_RESULT}`,
    affected: [
      {
        package: { ecosystem: 'npm', name: 'left-pad' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: `1.3.0` }] }],
      },
    ],
    references: [{ type: 'ADVISORY', url: `https://example.com/GHSA-tty0-tty0-tty0${CURSOR_UP}${FAKE_RESULT}` }],
  };
  writeFileSync(join(db, 'GHSA-tty0-tty0-tty0.json'), JSON.stringify(record));
  return db;
}

function lockfileApp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const lock = {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { 'left-pad': '1.1.0' } },
      'node_modules/left-pad': {
        version: '1.1.0',
        resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.1.0.tgz',
        integrity: 'sha512-0000000000000000000000000000000000000000000000000000000000000000000000000000000000000A==',
      },
    },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-pad': '1.1.0' } }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  return join(dir, 'package-lock.json');
}

function assertNoRawControls(text: string, what: string): void {
  const found = rawControl(text);
  assert.equal(found, null, `${what} holds a raw U+${found?.codePointAt(0)?.toString(16).padStart(4, '0')}: ${JSON.stringify(text)}`);
}

test('an OSV record full of escape sequences: the human report shows them escaped, and ends with its own result line', () => {
  const db = hostileDatabase();
  const lockfile = lockfileApp(join(tempDir('tty-app'), 'app'));
  {
    const r = runCli(['audit', lockfile, '--db', db], { cacheDir });
    assert.equal(r.status, 1, r.stderr);
    assertNoRawControls(r.stdout, 'the human report');
    const lines = r.stdout.trimEnd().split('\n');
    // The only result line is stowage's own, last; the fake one is inside the title's line.
    assert.deepEqual(lines.filter((l) => l.startsWith('result:')), ['result: FAIL, 1 finding fails the policy']);
    assert.equal(lines.at(-1), 'result: FAIL, 1 finding fails the policy');
    const report = r.stdout;
    // (The title is wrapped at 80 columns.)
    assert.ok(report.includes('  Prototype pollution\\x1b[2K\\r\\x1b[1A\\x1b[2K\\r\\nresult: ok, nothing fails the\n  policy\\n\\x9b2K\n'), report);
    assert.ok(report.includes('CVE-2026-0001\\x1b[2K\\r'), report);
    assert.ok(report.includes('CVE-2026-0002\\u202e\\u2066\\u2069\\u200b\\u2028\\u2029\\ufeff'), report);
    assert.ok(report.includes('more: https://example.com/GHSA-tty0-tty0-tty0\\x1b[1A\\nresult: ok'), report);
  }
});

test('the same record in JSON and SARIF: valid, the same strings, and no raw C1, bidi or separator characters', () => {
  const db = hostileDatabase();
  const lockfile = lockfileApp(join(tempDir('tty-app'), 'app'));
  for (const format of ['json', 'sarif']) {
    const r = runCli(['audit', lockfile, '--db', db, '--format', format], { cacheDir });
    assert.equal(r.status, 1, r.stderr);
    assertNoRawControls(r.stdout, `the ${format} report`);
    const text = JSON.stringify(JSON.parse(r.stdout));
    assert.ok(text.includes(JSON.stringify(`CVE-2026-0002${BIDI}`)), `${format} keeps the alias as the record wrote it`);
  }
  const json = auditReport(runCli(['audit', lockfile, '--db', db, '--format', 'json'], { cacheDir }).stdout);
  assert.equal(json.findings[0]?.advisory.title, `Prototype pollution${ERASE_LINE}${CURSOR_UP}${ERASE_LINE}${FAKE_RESULT}${C1_CSI}`);
});

test('a lockfile in a directory whose name holds a newline and escapes: the error is one line naming it', () => {
  const parent = tempDir('tty-path');
  const cases: [string, string][] = [
    ['app\nstowage: result: ok', 'app\\nstowage: result: ok'],
    [`app${ERASE_LINE}x`, 'app\\x1b[2K\\rx'],
    [`app\u009b2K${BIDI}`, 'app\\x9b2K\\u202e\\u2066\\u2069\\u200b\\u2028\\u2029\\ufeff'],
  ];
  for (const [name, shown] of cases) {
    const dir = join(parent, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion": 3, "packages": {');
    const r = runCli(['audit', join(dir, 'package-lock.json'), '--db', hostileDatabase()], { cacheDir });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assertNoRawControls(r.stderr, 'the error');
    assert.equal(r.stderr, `stowage: ${join(parent, shown, 'package-lock.json')}:1:37: invalid JSON: unexpected end of input (truncated file?)\n`);
  }
});

test('a valid lockfile under such a directory: the human report names it on one line, warnings too', () => {
  const db = hostileDatabase();
  const lockfile = lockfileApp(join(tempDir('tty-app'), `app\n${ERASE_LINE}result: ok`));
  const r = runCli(['audit', lockfile, '--db', db], { cacheDir });
  assert.equal(r.status, 1, r.stderr);
  assertNoRawControls(r.stdout, 'the human report');
  assertNoRawControls(r.stderr, 'stderr');
  assert.ok(r.stdout.includes('app\\n\\x1b[2K\\rresult: ok/package-lock.json\n'), r.stdout);
});

test('a usage error quoting a hostile argument stays on its line', () => {
  const r = runCli(['audit', '--format', `json${ERASE_LINE}\nresult: ok`], { cacheDir });
  assert.equal(r.status, 2);
  assertNoRawControls(r.stderr, 'the usage error');
  assert.equal(
    r.stderr,
    "stowage: option '-f, --format <format>' argument 'json\\x1b[2K\\r\\nresult: ok' is invalid. Allowed choices are human, json, sarif. (run with --help for usage)\n",
  );
  const unknown = runCli(['audit', `--fromat\u009b2K`], { cacheDir });
  assert.equal(unknown.status, 2);
  assert.equal(unknown.stderr, "stowage: unknown option '--fromat\\x9b2K' (run with --help for usage)\n");
  // Commander's suggestion and the hint on the same line: a usage error is one line, as every error.
  const suggested = runCli(['audit', '--fromat'], { cacheDir });
  assert.equal(suggested.stderr, "stowage: unknown option '--fromat'; did you mean --format? (run with --help for usage)\n");
  const missing = runCli(['fleet', 'diff'], { cacheDir });
  assert.equal(missing.status, 2);
  assert.equal(missing.stderr, "stowage: missing required argument 'args' (run with --help for usage)\n");
});

test('in colour, the only escape sequences in the report are its own colours', async () => {
  const lockfile = lockfileApp(join(tempDir('tty-app'), `app${ERASE_LINE}`));
  const { result } = await auditApplication({ paths: [lockfile], policy: DEFAULT_POLICY, databases: [hostileDatabase()], fetch: 'never', cacheRoot: cacheDir });
  const text = renderHuman(result, { colour: true, width: 100 });
  const withoutColours = text.replace(new RegExp(`${String.fromCharCode(0x1b)}\\[\\d+m`, 'g'), '');
  assertNoRawControls(withoutColours, 'the coloured report');
  assert.ok(text.includes('\u001b[1mGHSA-tty0-tty0-tty0\u001b[0m'), 'colours are still there');
  assert.ok(text.includes('app\\x1b[2K\\r/package-lock.json'), text);
});
