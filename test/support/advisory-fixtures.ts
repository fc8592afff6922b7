import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Advisory } from '../../src/core/advisory.js';

/**
 * The made-up databases' date: today (UTC midnight of the wall clock), so never stale and the
 * same all day. Not a date ahead: one past tomorrow is no date at all (src/advisories/records.ts),
 * and a database without a date warns that its age is unknown.
 */
const TODAY = new Date().toISOString().slice(0, 10);

/** A made-up record's date (RustSec `date`): today, as the made-up databases here are dated. */
export const FIXTURE_DATE = TODAY;
/** A made-up record's `modified` / `published` (OSV): today's UTC midnight. */
export const FIXTURE_TIME = `${TODAY}T00:00:00Z`;

/**
 * An OSV database (a directory) whose one advisory is about an npm package no test application
 * uses: audits against it find nothing, so vendoring and packaging proceed. Dated today, so it
 * is never stale.
 */
export function unrelatedNpmAdvisoryDb(root: string): string {
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'GHSA-0000-0000-0001.json'),
    JSON.stringify({
      schema_version: '1.3.0',
      id: 'GHSA-0000-0000-0001',
      modified: `${TODAY}T00:00:00Z`,
      published: `${TODAY}T00:00:00Z`,
      summary: 'Not about this application',
      details: 'Made up.',
      affected: [{ package: { ecosystem: 'npm', name: 'unused-package' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9.0.0' }] }] }],
    }),
  );
  return root;
}

/** A RustSec database (a directory) whose one advisory is about a crate no test application uses; as above. */
export function unrelatedRustsecAdvisoryDb(root: string): string {
  mkdirSync(join(root, 'crates', 'unused-crate'), { recursive: true });
  writeFileSync(
    join(root, 'crates', 'unused-crate', 'RUSTSEC-2099-0002.md'),
    `\`\`\`toml\n[advisory]\nid = "RUSTSEC-2099-0002"\npackage = "unused-crate"\ndate = "${TODAY}"\nurl = "https://example.invalid/x"\n\n[versions]\npatched = [">= 9.0.0"]\n\`\`\`\n\n# Not about this app\n\nMade up.\n`,
  );
  return root;
}

/**
 * A `.zip` of the OSV records (`*.json`) of `dir`, flat, as osv.dev publishes its per-ecosystem
 * exports; written by Python's zipfile, not by stowage. `leaveOut` names records to omit.
 */
export function osvZipOf(dir: string, file: string, leaveOut: readonly string[] = []): string {
  execFileSync('python3', [
    '-c',
    'import sys, zipfile, pathlib\nskip = set(sys.argv[3:])\nwith zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:\n' +
      '  for p in sorted(pathlib.Path(sys.argv[2]).glob("*.json")):\n    if p.name not in skip: z.write(p, p.name)',
    file,
    dir,
    ...leaveOut,
  ]);
  return file;
}

/** One made-up RustSec advisory, as its file says it. */
export interface MadeUpAdvisory {
  id: string;
  package: string;
  /** Requirements of the fixed versions; default `>= 99.0.0` (every real version affected). */
  patched?: string[];
  /** Requirements of versions never affected; none by default. */
  unaffected?: string[];
  informational?: 'unmaintained' | 'unsound' | 'notice';
  title?: string;
}

/** A RustSec database (a directory) holding the advisories given, dated today so never stale. */
export function rustsecAdvisoryDb(root: string, advisories: readonly MadeUpAdvisory[]): string {
  for (const a of advisories) {
    mkdirSync(join(root, 'crates', a.package), { recursive: true });
    const toml = [
      '[advisory]',
      `id = ${JSON.stringify(a.id)}`,
      `package = ${JSON.stringify(a.package)}`,
      `date = "${TODAY}"`,
      `url = "https://example.invalid/${a.id}"`,
      ...(a.informational ? [`informational = ${JSON.stringify(a.informational)}`] : ['categories = ["memory-corruption"]']),
      '',
      '[versions]',
      `patched = ${JSON.stringify(a.patched ?? ['>= 99.0.0'])}`,
      ...(a.unaffected ? [`unaffected = ${JSON.stringify(a.unaffected)}`] : []),
    ].join('\n');
    writeFileSync(join(root, 'crates', a.package, `${a.id}.md`), `\`\`\`toml\n${toml}\n\`\`\`\n\n# ${a.title ?? `${a.package} is made up to be vulnerable`}\n\nA made-up advisory for the tests.\n`);
  }
  return root;
}

/**
 * An OSV database of two made-up advisories against fixture-args (ECOSYSTEM ranges), dated
 * today so never stale: GHSA-0000-0000-0101 (fixed in 0.2.4 and 1.2.6) and
 * GHSA-0000-0000-0102 (fixed in 0.2.1 and 1.2.3).
 */
/* The packages are served by the fix tests' local registry (FIX_REGISTRY_FIXTURES in npm-registry.ts). */
export function fixtureArgsAdvisoryDb(root: string): string {
  mkdirSync(root, { recursive: true });
  const advisories: Array<[id: string, fixes: Array<[introduced: string, fixed: string]>]> = [
    ['GHSA-0000-0000-0101', [['0', '0.2.4'], ['1.0.0', '1.2.6']]],
    ['GHSA-0000-0000-0102', [['0', '0.2.1'], ['1.0.0', '1.2.3']]],
  ];
  for (const [id, fixes] of advisories) {
    const record = {
      schema_version: '1.3.0',
      id,
      modified: `${TODAY}T00:00:00Z`,
      published: `${TODAY}T00:00:00Z`,
      summary: 'fixture-args lets an argument pollute the prototype (made up)',
      details: 'Made up for the fix tests.',
      affected: fixes.map(([introduced, fixed]) => ({
        package: { ecosystem: 'npm', name: 'fixture-args' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced }, { fixed }] }],
      })),
      database_specific: { severity: 'HIGH' },
    };
    writeFileSync(join(root, `${id}.json`), JSON.stringify(record));
  }
  return root;
}

/**
 * An advisory record as the readers make it, about `pkg` (a crate unless `extra` says otherwise),
 * patched in `patched`: for tests that hand records to an index or an audit directly.
 */
export function advisoryRecord(id: string, pkg: string, patched: string[], extra: Partial<Advisory> = {}): Advisory {
  return {
    id,
    aliases: [],
    related: [],
    kind: 'vulnerability',
    ecosystem: 'cargo',
    package: pkg,
    title: `${pkg} is broken`,
    description: '',
    published: '2026-01-01',
    modified: null,
    withdrawn: null,
    severity: null,
    url: null,
    references: [],
    categories: [],
    keywords: [],
    affected: [{ form: 'requirements', patched, unaffected: [] }],
    patched,
    unaffected: [],
    functions: {},
    os: [],
    arch: [],
    origin: `crates/${pkg}/${id}.md`,
    ...extra,
  };
}
