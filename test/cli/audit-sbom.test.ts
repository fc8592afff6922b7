import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, GHSA_NPM, runCli, tempDir } from '../support/shared.js';

const cacheDir = tempDir('audit-sbom-cache');

const summary = (r: AuditReport): string[] => r.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

test('an SBOM (CycloneDX or SPDX) is audited again without the source: the same findings as the lockfile it was made from', () => {
  const app = tempDir('audit-sbom-app');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.lock'), join(app, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.toml'), join(app, 'Cargo.toml'));
  const fromLock = runCli(['audit', app, '--db', ADVISORY_DB_BUNDLE, '--format', 'json'], { cacheDir });
  const lockReport = auditReport(fromLock.stdout);
  assert.ok(lockReport.findings.length > 0, 'ripgrep 2024-09 has findings to compare');
  const withPaths = (r: AuditReport): string[] => r.findings.map((f) => `${f.advisory.id} ${JSON.stringify(f.paths)}`).sort();
  const paths: string[][] = [];
  for (const [format, name] of [['cyclonedx', 'CycloneDX 1.6 SBOM'], ['spdx', 'SPDX-2.3 SBOM']] as const) {
    const bom = join(tempDir('audit-sbom-out'), `ripgrep.${format}.json`);
    const made = runCli(['sbom', app, '--no-licenses', '--format', format, '-o', bom], { cacheDir });
    assert.equal(made.status, 0, made.stderr);
    const fromSbom = runCli(['audit', bom, '--db', ADVISORY_DB_BUNDLE, '--format', 'json'], { cacheDir });
    assert.equal(fromSbom.status, fromLock.status, fromSbom.stderr);
    const sbomReport = auditReport(fromSbom.stdout);
    assert.deepEqual(summary(sbomReport), summary(lockReport), format);
    assert.deepEqual(sbomReport.targets.map((t) => [t.ecosystem, t.format]), [['cargo', name]]);
    // The workspace members are the application in an SBOM: every path starts there.
    for (const f of sbomReport.findings) assert.equal(f.paths[0]?.[0], 'ripgrep@14.1.0', 'paths start at the application');
    paths.push(withPaths(sbomReport));
  }
  assert.deepEqual(paths[1], paths[0], 'SPDX relationships give the paths CycloneDX dependencies give');
});

test("an SPDX document from another tool: documentDescribes, inverse DEPENDENCY_OF edges, purls as external references; a package without one refused", () => {
  const dir = tempDir('audit-spdx-other');
  const pkg = (id: string, name: string, version: string, purl?: string): object => ({
    SPDXID: id,
    name,
    versionInfo: version,
    downloadLocation: 'NOASSERTION',
    ...(purl ? { externalRefs: [{ referenceCategory: 'PACKAGE_MANAGER', referenceType: 'purl', referenceLocator: purl }] } : {}),
  });
  const doc = (extra: object[]): string =>
    JSON.stringify({
      spdxVersion: 'SPDX-2.2',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: 'web',
      documentDescribes: ['SPDXRef-web'],
      packages: [pkg('SPDXRef-web', 'web', '2.0.0'), pkg('SPDXRef-x', 'x', '1.0.0', 'pkg:npm/x@1.0.0'), pkg('SPDXRef-minimist', 'minimist', '0.0.8', 'pkg:npm/minimist@0.0.8'), ...extra],
      relationships: [
        { spdxElementId: 'SPDXRef-x', relationshipType: 'DEPENDENCY_OF', relatedSpdxElement: 'SPDXRef-web' },
        { spdxElementId: 'SPDXRef-minimist', relationshipType: 'DEPENDENCY_OF', relatedSpdxElement: 'SPDXRef-x' },
      ],
    });
  const good = join(dir, 'web.spdx.json');
  writeFileSync(good, doc([]));
  const run = runCli(['audit', good, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  // minimist 0.0.8: GHSA-vh95-rmgr-6w4m (< 0.2.1) and GHSA-xvch-5gv4-984h (< 0.2.4), through x.
  assert.deepEqual(summary(report), ['GHSA-vh95-rmgr-6w4m minimist@0.0.8', 'GHSA-xvch-5gv4-984h minimist@0.0.8']);
  for (const f of report.findings) assert.deepEqual(f.paths, [['web@2.0.0', 'x@1.0.0', 'minimist@0.0.8']]);

  const unknown = join(dir, 'unknown.spdx.json');
  writeFileSync(unknown, doc([pkg('SPDXRef-mystery', 'mystery', '1.0')]));
  const refused = runCli(['audit', unknown, '--db', GHSA_NPM], { cacheDir });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^stowage: .*unknown\.spdx\.json: 1 component names a package stowage cannot identify, so cannot audit: "SPDXRef-mystery" \("mystery"\): no purl; pass --allow-unidentified/m);
});

test('an SPDX package with several purls is the package they all name; purls that name different packages or versions refuse it', () => {
  const dir = tempDir('audit-spdx-purls');
  const lodash = (version: string | null, purls: string[]): object => ({
    SPDXID: 'SPDXRef-lodash',
    name: 'lodash',
    ...(version === null ? {} : { versionInfo: version }),
    downloadLocation: 'NOASSERTION',
    externalRefs: purls.map((purl) => ({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl })),
  });
  const audit = (pkg: object): { status: number | null; stdout: string; stderr: string } => {
    const file = join(dir, 'web.spdx.json');
    writeFileSync(
      file,
      JSON.stringify({
        spdxVersion: 'SPDX-2.3',
        SPDXID: 'SPDXRef-DOCUMENT',
        name: 'web',
        documentDescribes: ['SPDXRef-web'],
        packages: [{ SPDXID: 'SPDXRef-web', name: 'web', versionInfo: '1.0.0', downloadLocation: 'NOASSERTION' }, pkg],
        relationships: [{ spdxElementId: 'SPDXRef-web', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-lodash' }],
      }),
    );
    return runCli(['audit', file, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
  };
  // The same package twice (spelt two ways): audited.
  const same = audit(lodash('4.17.4', ['pkg:npm/lodash@4.17.4', 'pkg:NPM/lodash@4.17.4']));
  assert.equal(same.status, 1, same.stderr);
  assert.ok(summary(auditReport(same.stdout)).includes('GHSA-29mw-wpgm-hmr9 lodash@4.17.4'));
  for (const [version, purls, reason] of [
    [null, ['pkg:npm/lodash@4.17.21', 'pkg:npm/lodash@4.17.4'], /its purls name different packages \(pkg:npm\/lodash@4\.17\.21, pkg:npm\/lodash@4\.17\.4\)/],
    ['4.17.21', ['pkg:npm/lodash@4.17.21', 'pkg:npm/lodash@4.17.4'], /purl version 4\.17\.4 contradicts version 4\.17\.21 \(pkg:npm\/lodash@4\.17\.4\)/],
    ['4.17.21', ['pkg:npm/lodash@4.17.21', 'pkg:pypi/lodash@4.17.21'], /pkg:pypi is not an ecosystem stowage audits \(pkg:pypi\/lodash@4\.17\.21\)/],
  ] as const) {
    const refused = audit(lodash(version, [...purls]));
    assert.equal(refused.status, 2, refused.stdout);
    assert.match(refused.stderr, /web\.spdx\.json: 1 component names a package stowage cannot identify, so cannot audit: "SPDXRef-lodash" \("lodash"\): /);
    assert.match(refused.stderr, reason);
  }
});

test('a file that is neither a lockfile nor an SBOM, and an SBOM without packages, are refused clearly', () => {
  const dir = tempDir('audit-sbom-bad');
  const other = join(dir, 'data.json');
  writeFileSync(other, '{"hello": "world"}');
  const r1 = runCli(['audit', other, '--db', ADVISORY_DB_BUNDLE], { cacheDir });
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /data\.json: not a lockfile stowage reads/);
  // JSON-LD whose @context is nested far deeper than a recursive walk can go: the same one line.
  const deep = join(dir, 'deep.json');
  writeFileSync(deep, `{"@context": ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}, "@graph": []}`);
  const r3 = runCli(['audit', deep, '--db', ADVISORY_DB_BUNDLE], { cacheDir });
  assert.equal(r3.status, 2);
  assert.deepEqual(r3.stderr.trimEnd().split('\n'), [`stowage: ${deep}: not a lockfile stowage reads (expected one of Cargo.lock, npm-shrinkwrap.json, package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock)`]);
  const empty = join(dir, 'empty.cdx.json');
  writeFileSync(empty, '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "operating-system", "name": "debian", "purl": "pkg:generic/debian@12"}]}');
  const r2 = runCli(['audit', empty, '--db', ADVISORY_DB_BUNDLE], { cacheDir });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /empty\.cdx\.json: the SBOM names no Cargo or npm package/);
});

test('an SBOM is told by its keys wherever they are written (after 400 characters, sorted last, no .json name); other SBOM encodings are refused as what they are', () => {
  const dir = tempDir('audit-sbom-detect');
  const lodash = { type: 'library', 'bom-ref': 'l', name: 'lodash', version: '4.17.4', purl: 'pkg:npm/lodash@4.17.4' };
  // Keys sorted, as a serialiser that sorts them writes: "bomFormat" after a long "components".
  const padding = Array.from({ length: 20 }, (_, i) => ({ type: 'file', name: `licence-${i}.txt` }));
  const cdx = { components: [...padding, lodash], dependencies: [], metadata: { tools: [{ name: 'x'.repeat(500) }] }, bomFormat: 'CycloneDX', specVersion: '1.6' };
  const spdx = {
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'n'.repeat(500),
    packages: [{ SPDXID: 'SPDXRef-l', name: 'lodash', versionInfo: '4.17.4', downloadLocation: 'NOASSERTION', externalRefs: [{ referenceCategory: 'PACKAGE_MANAGER', referenceType: 'purl', referenceLocator: 'pkg:npm/lodash@4.17.4' }] }],
    spdxVersion: 'SPDX-2.3',
  };
  for (const [name, doc, format] of [
    ['late.cdx.json', cdx, 'CycloneDX 1.6 SBOM'],
    ['bom', cdx, 'CycloneDX 1.6 SBOM'],
    ['bom-with-bom', cdx, 'CycloneDX 1.6 SBOM'],
    ['late.spdx.json', spdx, 'SPDX-2.3 SBOM'],
  ] as const) {
    const path = join(dir, name);
    writeFileSync(path, `${name === 'bom-with-bom' ? '\uFEFF' : ''}${JSON.stringify(doc, null, 2)}`);
    const r = runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    const report = auditReport(r.stdout);
    assert.ok(summary(report).includes('GHSA-29mw-wpgm-hmr9 lodash@4.17.4'), name);
    assert.deepEqual(report.targets.map((t) => t.format), [format], name);
  }
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, `{"metadata": {"x": "${'x'.repeat(500)}"}, "bomFormat": "CycloneDX", "components": [}`);
  const unread: [string, string, RegExp][] = [
    ['broken.json', '', /broken\.json:1:\d+: invalid JSON/],
    ['bom.xml', '<?xml version="1.0" encoding="UTF-8"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"><components/></bom>\n', /bom\.xml: a CycloneDX XML SBOM: stowage reads CycloneDX JSON/],
    ['app.spdx', '\uFEFF# made by a tool\nSPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nPackageName: lodash\n', /app\.spdx: an SPDX tag-value SBOM: stowage reads SPDX 2\.2 and 2\.3 JSON/],
    ['app3.spdx.json', JSON.stringify({ '@context': 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld', '@graph': [] }), /app3\.spdx\.json: an SPDX 3 JSON-LD document/],
    ['v3.spdx.json', JSON.stringify({ ...spdx, spdxVersion: 'SPDX-3.0' }), /v3\.spdx\.json: spdxVersion "SPDX-3\.0": stowage reads SPDX 2\.x JSON documents only/],
    // Both keys: the CycloneDX half lists a fixed lodash, the SPDX half the vulnerable one (it passed, reading the first half only).
    [
      'both.json',
      JSON.stringify({ ...spdx, ...cdx, components: [{ ...lodash, version: '4.17.21', purl: 'pkg:npm/lodash@4.17.21' }] }),
      /both\.json: both a CycloneDX SBOM \("bomFormat"\) and an SPDX one \("spdxVersion"\): a tool may read either, so stowage reads neither/,
    ],
  ];
  for (const [name, text, pattern] of unread) {
    const path = join(dir, name);
    if (text !== '') writeFileSync(path, text);
    const r = runCli(['audit', path, '--db', GHSA_NPM], { cacheDir });
    assert.equal(r.status, 2, name);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern, name);
  }
});

test('an SPDX document that describes several packages: each without a purl is an application, not a package refused for having none', () => {
  const dir = tempDir('audit-spdx-described');
  const pkg = (id: string, name: string, purl?: string): object => ({
    SPDXID: id,
    name,
    versionInfo: purl === undefined ? '1.0.0' : '4.17.4',
    downloadLocation: 'NOASSERTION',
    ...(purl === undefined ? {} : { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }] }),
  });
  const path = join(dir, 'repo.spdx.json');
  writeFileSync(
    path,
    JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: 'repo',
      documentDescribes: ['SPDXRef-web', 'SPDXRef-api'],
      packages: [pkg('SPDXRef-web', 'web'), pkg('SPDXRef-api', 'api'), pkg('SPDXRef-lodash', 'lodash', 'pkg:npm/lodash@4.17.4'), pkg('SPDXRef-lib', 'lib')],
      relationships: [
        { spdxElementId: 'SPDXRef-web', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-lodash' },
        { spdxElementId: 'SPDXRef-api', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-lodash' },
      ],
    }),
  );
  // lib is described by nothing: a package without a purl, still refused.
  const refused = runCli(['audit', path, '--db', GHSA_NPM], { cacheDir });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /: 1 component names a package stowage cannot identify, so cannot audit: "SPDXRef-lib" \("lib"\): no purl;/);
  const r = runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json', '--allow-unidentified'], { cacheDir });
  assert.equal(r.status, 1, r.stderr);
  const report = auditReport(r.stdout);
  const lodash = report.findings.find((f) => f.advisory.id === 'GHSA-29mw-wpgm-hmr9');
  assert.deepEqual(lodash?.paths.map((p) => p.join(' > ')).sort(), ['api@1.0.0 > lodash@4.17.4', 'web@1.0.0 > lodash@4.17.4']);
  assert.deepEqual(report.targets[0]?.unidentified.map((u) => u.ref), ['SPDXRef-lib']);
});
