import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/*
 * SBOMs as other tools write them: npm's own `npm sbom` (CycloneDX and SPDX, run here on a real
 * lockfile), Trivy's and syft's shapes, a PowerShell-redirected UTF-16 file; and an application
 * whose purl contradicts its own version. Vulnerable packages: minimist 1.2.0 (GHSA-vh95-rmgr-6w4m
 * and GHSA-xvch-5gv4-984h) and lodash 4.17.20 (GHSA-29mw-wpgm-hmr9 and GHSA-35jh-r3h4-6jhm), from the real GHSA records.
 */

const cacheDir = tempDir('audit-sbom-tools-cache');
const work = tempDir('audit-sbom-tools');
const DBS = ['--db', GHSA_NPM];

const audit = (path: string, ...args: string[]): { status: number; stdout: string; stderr: string } => runCli(['audit', path, ...DBS, ...args], { cacheDir });

function report(path: string, ...args: string[]): { status: number; report: AuditReport } {
  const r = audit(path, '--format', 'json', ...args);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return { status: r.status, report: auditReport(r.stdout) };
}

const found = (r: AuditReport): string[] => r.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

const MINIMIST = ['GHSA-vh95-rmgr-6w4m minimist@1.2.0', 'GHSA-xvch-5gv4-984h minimist@1.2.0'];
const LODASH = ['GHSA-29mw-wpgm-hmr9 lodash@4.17.20', 'GHSA-35jh-r3h4-6jhm lodash@4.17.20'];

let count = 0;
function file(name: string, doc: unknown): string {
  const dir = join(work, `case-${++count}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(doc, null, 2));
  return path;
}

/** The one-line refusal: exit 2, naming the file. */
function refused(path: string, pattern: RegExp, ...args: string[]): void {
  const r = audit(path, ...args);
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0]?.startsWith(`stowage: ${path}: `), r.stderr);
  assert.match(r.stderr, pattern);
}

/** A project depending on ms 2.0.0, with minimist 1.2.0 as a development dependency: npm 11's own lockfile of it. */
const PACKAGE_JSON = { name: 'sbom-demo', version: '1.0.0', dependencies: { ms: '2.0.0' }, devDependencies: { minimist: '1.2.0' } };
const PACKAGE_LOCK = {
  name: 'sbom-demo',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'sbom-demo', version: '1.0.0', dependencies: { ms: '2.0.0' }, devDependencies: { minimist: '1.2.0' } },
    'node_modules/minimist': {
      version: '1.2.0',
      integrity: 'sha512-7Wl+Jz+IGWuSdgsQEJ4JunV0si/iMhg42MnQQG6h1R6TNeVenp4U9x5CC5v/gYqz/fENLQITAWXidNtVL0NNbw==',
      dev: true,
      license: 'MIT',
    },
    'node_modules/ms': {
      version: '2.0.0',
      integrity: 'sha512-Tpp60P6IUJDTuOq/5Z8cdskzJujfwqfOTkrwIwj7IRISpnkJnT6SyJ4PCPnGMoFjC9ddhal5KVIYtAt97ix05A==',
      license: 'MIT',
    },
  },
};

const NPM_MAJOR = Number(/^(\d+)\./.exec(spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 0);

test('npm sbom (CycloneDX and SPDX): a development dependency is left out under --omit dev, as in the lockfile it was made from', { skip: NPM_MAJOR >= 10 ? false : 'npm 10 or later is not installed' }, () => {
  const project = join(work, 'npm-project');
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify(PACKAGE_JSON, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(PACKAGE_LOCK, null, 2));
  const lockfile = join(project, 'package-lock.json');
  assert.deepEqual(found(report(lockfile).report), MINIMIST);
  assert.deepEqual(found(report(lockfile, '--omit', 'dev').report), []);
  for (const format of ['cyclonedx', 'spdx']) {
    const made = spawnSync('npm', ['sbom', '--package-lock-only', '--sbom-format', format], { cwd: project, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const sbom = join(work, `npm-sbom.${format}.json`);
    writeFileSync(sbom, made.stdout);
    const whole = report(sbom);
    assert.equal(whole.status, 1, format);
    assert.deepEqual(found(whole.report), MINIMIST, format);
    assert.ok(whole.report.findings.every((f) => f.devOnly), format);
    const omitted = report(sbom, '--omit', 'dev');
    assert.equal(omitted.status, 0, format);
    assert.deepEqual(found(omitted.report), [], format);
  }
});

test("stowage's own SPDX SBOM keeps its edges' kinds (a DEPENDS_ON's comment): --omit dev leaves out what the lockfile's audit does", () => {
  const project = join(work, 'stowage-spdx');
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify(PACKAGE_JSON, null, 2));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(PACKAGE_LOCK, null, 2));
  const out = join(work, 'stowage.spdx.json');
  const made = runCli(['sbom', join(project, 'package-lock.json'), '--format', 'spdx', '--no-licenses', '-o', out], { cacheDir });
  assert.equal(made.status, 0, made.stderr);
  assert.match(readFileSync(out, 'utf8'), /"comment": "dev dependency"/);
  assert.deepEqual(found(report(out).report), MINIMIST);
  assert.deepEqual(found(report(out, '--omit', 'dev').report), []);
  // The same comment in another tool's document says nothing stowage relies on: kept.
  const other = join(work, 'other-tool.spdx.json');
  writeFileSync(other, readFileSync(out, 'utf8').replace(/"Tool: [^"]*"/, '"Tool: other-1.0"'));
  assert.deepEqual(found(report(other, '--omit', 'dev').report), MINIMIST);
});

const app = { type: 'application', 'bom-ref': 'app', name: 'app', version: '1.0.0' };
const lodash = { type: 'library', 'bom-ref': 'lodash', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' };
const minimist = { type: 'library', 'bom-ref': 'minimist', name: 'minimist', version: '1.2.0', purl: 'pkg:npm/minimist@1.2.0' };

function cyclonedx(components: unknown[], dependencies: unknown[], component: unknown = app): string {
  return file('bom.cdx.json', { bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, metadata: { component }, components, dependencies });
}

test('the npm development property marks only npm packages, and only when "true"; a package shipped as well stays audited', () => {
  const dev = { name: 'cdx:npm:package:development', value: 'true' };
  const path = cyclonedx(
    [
      { ...minimist, properties: [dev] },
      { ...lodash, properties: [{ name: 'cdx:npm:package:development', value: 'false' }] },
    ],
    [{ ref: 'app', dependsOn: ['minimist', 'lodash'] }],
  );
  assert.deepEqual(found(report(path, '--omit', 'dev').report), LODASH);
  // Listed twice, once as development-only and once shipped: audited under --omit dev.
  const twice = cyclonedx([{ ...minimist, properties: [dev] }, { ...minimist, 'bom-ref': 'minimist-2' }], [{ ref: 'app', dependsOn: ['minimist', 'minimist-2'] }]);
  assert.deepEqual(found(report(twice, '--omit', 'dev').report), MINIMIST);
});

test('an SPDX package reached only through DEV_DEPENDENCY_OF is dev-only; one a runtime dependency also reaches, or none reaches, is not', () => {
  const pkg = (id: string, name: string, version: string): unknown => ({
    SPDXID: id,
    name,
    versionInfo: version,
    downloadLocation: 'NOASSERTION',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:npm/${name}@${version}` }],
  });
  const doc = (relationships: unknown[]): string =>
    file('bom.spdx.json', {
      spdxVersion: 'SPDX-2.3',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: 'app',
      documentDescribes: ['SPDXRef-app'],
      packages: [{ SPDXID: 'SPDXRef-app', name: 'app', versionInfo: '1.0.0', downloadLocation: 'NOASSERTION' }, pkg('SPDXRef-minimist', 'minimist', '1.2.0'), pkg('SPDXRef-lodash', 'lodash', '4.17.20')],
      relationships,
    });
  const rel = (from: string, type: string, to: string): unknown => ({ spdxElementId: from, relationshipType: type, relatedSpdxElement: to });
  // minimist is a dev dependency of the app and lodash one of minimist: both dev-only.
  const devOnly = doc([rel('SPDXRef-minimist', 'DEV_DEPENDENCY_OF', 'SPDXRef-app'), rel('SPDXRef-lodash', 'DEPENDENCY_OF', 'SPDXRef-minimist')]);
  assert.deepEqual(found(report(devOnly).report), [...LODASH, ...MINIMIST].sort());
  assert.deepEqual(found(report(devOnly, '--omit', 'dev').report), []);
  // lodash is also a runtime dependency of the app: kept.
  const shipped = doc([rel('SPDXRef-minimist', 'DEV_DEPENDENCY_OF', 'SPDXRef-app'), rel('SPDXRef-lodash', 'DEPENDENCY_OF', 'SPDXRef-minimist'), rel('SPDXRef-app', 'DEPENDS_ON', 'SPDXRef-lodash')]);
  assert.deepEqual(found(report(shipped, '--omit', 'dev').report), LODASH);
  // lodash is related to nothing: what no root reaches is never dev-only on a guess.
  const unreached = doc([rel('SPDXRef-minimist', 'DEV_DEPENDENCY_OF', 'SPDXRef-app')]);
  assert.deepEqual(found(report(unreached, '--omit', 'dev').report), LODASH);
  // A relationship type SPDX does not have is no edge, spelled like an Object property or not
  // (`constructor` was read as an edge from the app to lodash, of no kind): dev-only, as above.
  for (const type of ['constructor', '__proto__', 'toString', 'CONTAINED_BY']) {
    const named = doc([rel('SPDXRef-minimist', 'DEV_DEPENDENCY_OF', 'SPDXRef-app'), rel('SPDXRef-lodash', 'DEPENDENCY_OF', 'SPDXRef-minimist'), rel('SPDXRef-lodash', type, 'SPDXRef-app')]);
    assert.deepEqual(found(report(named, '--omit', 'dev').report), [], type);
  }
});

test('an application whose purl contradicts its own version is not identified: refused, or not audited with --allow-unidentified', () => {
  const contradicting = { type: 'library', 'bom-ref': 'app', name: 'lodash', version: '4.17.21', purl: 'pkg:npm/lodash@4.17.20' };
  const path = cyclonedx([minimist], [{ ref: 'app', dependsOn: ['minimist'] }], contradicting);
  refused(path, /1 component names a package stowage cannot identify, so cannot audit: "app" \("lodash"\): purl version 4\.17\.20 contradicts version 4\.17\.21; pass --allow-unidentified/);
  const allowed = report(path, '--allow-unidentified');
  assert.deepEqual(found(allowed.report), MINIMIST);
  assert.deepEqual(allowed.report.targets[0]?.unidentified, [{ ref: 'app', name: 'lodash', version: '4.17.21', reason: 'purl version 4.17.20 contradicts version 4.17.21' }]);
  // Without a bom-ref it is named by where it is.
  refused(cyclonedx([minimist], [], { ...contradicting, 'bom-ref': undefined }), /"metadata\.component" \("lodash"\): purl version 4\.17\.20 contradicts/);
  // npm sbom names the application by its directory beside its package's purl: that stays the application.
  const npmShape = { type: 'library', 'bom-ref': 'sbom-demo@1.0.0', name: 'checkout-dir', version: '1.0.0', purl: 'pkg:npm/sbom-demo@1.0.0' };
  assert.deepEqual(found(report(cyclonedx([minimist], [{ ref: 'sbom-demo@1.0.0', dependsOn: ['minimist'] }], npmShape)).report), MINIMIST);

  const spdx = file('app.spdx.json', {
    spdxVersion: 'SPDX-2.3',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'lodash',
    documentDescribes: ['SPDXRef-lodash'],
    packages: [{ SPDXID: 'SPDXRef-lodash', name: 'lodash', versionInfo: '4.17.21', downloadLocation: 'NOASSERTION', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:npm/lodash@4.17.20' }] }],
  });
  refused(spdx, /"SPDXRef-lodash" \("lodash"\): purl version 4\.17\.20 contradicts version 4\.17\.21/);
});

test('syft and Trivy shapes: files with an empty version and Trivy\'s lockfile components are no packages; a file hiding one still refuses', () => {
  // Trivy (fs): the application, the lockfile it read (no purl, no version) and that lockfile's packages under uuid bom-refs.
  const trivy = cyclonedx(
    [
      {
        'bom-ref': '187116d1-d556-492d-97a8-ebcea695bc25',
        type: 'application',
        name: 'web/package-lock.json',
        properties: [
          { name: 'aquasecurity:trivy:Class', value: 'lang-pkgs' },
          { name: 'aquasecurity:trivy:Type', value: 'npm' },
        ],
      },
      { ...lodash, 'bom-ref': '1f9e4851-8d76-4bba-b38e-577b79cdad19', properties: [{ name: 'aquasecurity:trivy:PkgID', value: 'lodash@4.17.20' }] },
      { type: 'file', 'bom-ref': 'file-1', name: '/usr/share/doc/README', version: '', hashes: [{ alg: 'SHA-1', content: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' }] },
    ],
    [
      { ref: 'app', dependsOn: ['187116d1-d556-492d-97a8-ebcea695bc25'] },
      { ref: '187116d1-d556-492d-97a8-ebcea695bc25', dependsOn: ['1f9e4851-8d76-4bba-b38e-577b79cdad19'] },
    ],
  );
  const read = report(trivy);
  assert.equal(read.status, 1);
  assert.deepEqual(found(read.report), LODASH);
  assert.deepEqual(read.report.findings[0]?.paths[0], ['web/package-lock.json', 'lodash@4.17.20']);
  // A file whose purl names an npm package, with a version that says nothing: which one shipped is not known.
  const hiding = cyclonedx([{ type: 'file', 'bom-ref': 'f', name: 'lodash', version: '', purl: 'pkg:npm/lodash@4.17.20' }], []);
  refused(hiding, /"f" \("lodash"\): version is not a non-empty string/);
  // An application without a purl that is not Trivy's lockfile is still a package stowage cannot identify.
  refused(cyclonedx([{ type: 'application', 'bom-ref': 'x', name: 'web/package-lock.json' }], []), /"x" \("web\/package-lock\.json"\): no purl/);
});

test('a UTF-16 SBOM (a byte-order mark, LE or BE, with or without a .json name) is read; a UTF-16 lockfile is refused as what it is', () => {
  const path = cyclonedx([lodash], [{ ref: 'app', dependsOn: ['lodash'] }]);
  const text = readFileSync(path, 'utf8');
  const le = join(work, 'utf16le.cdx.json');
  writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  const be = join(work, 'utf16be-sbom');
  writeFileSync(be, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]));
  for (const sbom of [le, be]) assert.deepEqual(found(report(sbom).report), LODASH, sbom);
  const odd = join(work, 'odd.cdx.json');
  writeFileSync(odd, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le'), Buffer.from([0x20])]));
  refused(odd, /not valid UTF-16LE text, though its byte-order mark says it is/);
  const xml = join(work, 'utf16.xml');
  writeFileSync(xml, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<?xml version="1.0" encoding="UTF-16"?>\n<bom xmlns="http://cyclonedx.org/schema/bom/1.5" version="1"></bom>\n', 'utf16le')]));
  refused(xml, /a CycloneDX XML SBOM: stowage reads CycloneDX JSON/);
  const dir = join(work, 'utf16-lockfile');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package-lock.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(PACKAGE_LOCK), 'utf16le')]));
  refused(join(dir, 'package-lock.json'), /UTF-16LE text \(its byte-order mark says so\), not UTF-8: convert it \(iconv -f UTF-16LE -t UTF-8\)/);
});
