/**
 * One h2 advisory and its findings as the fleet's tests build them: text that a terminal, JSON
 * and UTF-8 each treat apart (escapes, a line separator, bidi, non-ASCII).
 */
import type { Advisory } from '../../src/core/advisory.js';
import type { Finding } from '../../src/core/finding.js';

export function advisory(id: string, extra: Partial<Advisory> = {}): Advisory {
  return {
    id,
    aliases: ['CVE-2026-1'],
    related: [],
    kind: 'vulnerability',
    ecosystem: 'cargo',
    package: 'h2',
    title: 'h2 is \u001b[31mbroken\u2028 — déjà 😀',
    description: 'Long text\nwith lines, a tab\tand \u202e bidi.',
    published: '2026-01-01',
    modified: '2026-02-01T10:00:00Z',
    withdrawn: null,
    severity: { level: 'high', score: 7.5, vector: null },
    url: null,
    references: [],
    categories: [],
    keywords: [],
    affected: [{ form: 'requirements', patched: ['>= 0.4.16'], unaffected: [] }],
    patched: ['>= 0.4.16'],
    unaffected: [],
    functions: { 'h2::x': ['< 0.4.16'] },
    os: [],
    arch: [],
    origin: `crates/h2/${id}.md`,
    caveats: [],
    ...extra,
  };
}

export function finding(a: Advisory, target: string, version: string, extra: Partial<Finding> = {}): Finding {
  return {
    target,
    advisory: a,
    databases: ['https://github.com/rustsec/advisory-db.git'],
    package: {
      id: `h2@${version}`,
      ecosystem: 'cargo',
      name: 'h2',
      version,
      source: { kind: 'registry', url: 'https://github.com/rust-lang/crates.io-index', isDefaultRegistry: true },
      checksum: 'ff'.repeat(32),
      flags: {},
    },
    paths: [['app@1.0.0', `h2@${version}`]],
    morePaths: 0,
    directDependencies: [`h2@${version}`],
    fixedVersions: null,
    devOnly: false,
    ignored: null,
    policyLevel: 'high',
    failsPolicy: true,
    ...extra,
  };
}
