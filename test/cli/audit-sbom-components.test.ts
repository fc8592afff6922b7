import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/*
 * Every component of a CycloneDX SBOM is audited or accounted for: nested components are read
 * at any depth, and a component that names a package stowage cannot identify refuses the SBOM
 * (exit 2, one line naming the file and the components) unless --allow-unidentified, which
 * reports it as not audited. Vulnerable packages: smallvec 1.6.0 (RUSTSEC-2021-0003, real
 * RustSec bundle), lodash 4.17.20 (GHSA-35jh-r3h4-6jhm) and @babel/traverse 7.23.0
 * (GHSA-67hx-6x53-jw92), from the real GHSA records.
 */

const cacheDir = tempDir('audit-sbom-components-cache');
const work = tempDir('audit-sbom-components');
const DBS = ['--db', ADVISORY_DB_BUNDLE, '--db', GHSA_NPM];

type Component = Record<string, unknown>;

type Report = AuditReport;

const SMALLVEC = { type: 'library', 'bom-ref': 'smallvec', name: 'smallvec', version: '1.6.0', purl: 'pkg:cargo/smallvec@1.6.0' };
const LODASH = { type: 'library', 'bom-ref': 'lodash', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' };
const SAFE_CRATE = { type: 'library', 'bom-ref': 'itoa', name: 'itoa', version: '1.0.11', purl: 'pkg:cargo/itoa@1.0.11' };

let count = 0;
function sbom(components: Component[], options: { dependencies?: unknown[]; app?: Component } = {}): string {
  const app = options.app ?? { type: 'application', 'bom-ref': 'app', name: 'app', version: '1.0.0' };
  const refs = components.map((c) => c['bom-ref']).filter((r): r is string => typeof r === 'string');
  const doc = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    metadata: { component: app },
    components,
    dependencies: options.dependencies ?? [{ ref: 'app', dependsOn: refs }],
  };
  const path = join(work, `case-${++count}.cdx.json`);
  writeFileSync(path, JSON.stringify(doc, null, 2));
  return path;
}

const audit = (path: string, ...args: string[]): { status: number; stdout: string; stderr: string } =>
  runCli(['audit', path, ...DBS, ...args], { cacheDir });

function report(path: string, ...args: string[]): { status: number; report: Report; stderr: string } {
  const r = audit(path, '--format', 'json', ...args);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return { status: r.status, report: auditReport(r.stdout), stderr: r.stderr };
}

/** An SPDX 2.3 document describing SPDXRef-app, written to a new file. */
function spdxDocument(packages: Component[], relationships: Component[]): string {
  const file = join(work, `case-${++count}.spdx.json`);
  writeFileSync(file, JSON.stringify({ spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'app', documentDescribes: ['SPDXRef-app'], packages, relationships }));
  return file;
}

/** An SPDX 2.3 SBOM of app 1.0.0 depending on smallvec 1.6.0, identified by `purl`. */
function spdx(purl: string): string {
  return spdxDocument(
    [
      { SPDXID: 'SPDXRef-app', name: 'app', versionInfo: '1.0.0', downloadLocation: 'NOASSERTION' },
      { SPDXID: 'SPDXRef-smallvec', name: 'smallvec', versionInfo: '1.6.0', downloadLocation: 'NOASSERTION', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }] },
    ],
    [{ spdxElementId: 'SPDXRef-app', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-smallvec' }],
  );
}

const found = (r: Report): string[] => r.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

/** The exact one-line refusal: exit 2, one line on stderr, naming the file. */
function refused(path: string, pattern: RegExp, ...args: string[]): string {
  const r = audit(path, ...args);
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  const line = lines[0] as string;
  assert.ok(line.startsWith(`stowage: ${path}: `), line);
  assert.match(line, pattern);
  return line;
}

test('warm the database cache (RustSec bundle clone, GHSA index)', () => {
  const r = audit(sbom([SAFE_CRATE]));
  assert.equal(r.status, 0, r.stderr);
});

test('components nested three levels deep are audited, under components[] and under metadata.component', () => {
  const nested = sbom(
    [
      { ...SAFE_CRATE, components: [{ type: 'library', 'bom-ref': 'mid', name: 'mid', version: '1.0.0', purl: 'pkg:npm/mid@1.0.0', components: [{ ...LODASH }] }] },
    ],
    {
      app: {
        type: 'application',
        'bom-ref': 'app',
        name: 'app',
        version: '1.0.0',
        components: [{ type: 'framework', 'bom-ref': 'lvl1', name: 'lvl1', version: '1.0.0', purl: 'pkg:cargo/lvl1@1.0.0', components: [{ type: 'library', 'bom-ref': 'lvl2', name: 'lvl2', version: '1.0.0', purl: 'pkg:cargo/lvl2@1.0.0', components: [SMALLVEC] }] }],
      },
      dependencies: [
        { ref: 'app', dependsOn: ['itoa', 'lvl1', 'mid'] },
        { ref: 'lvl1', dependsOn: ['lvl2'] },
        { ref: 'lvl2', dependsOn: ['smallvec'] },
        { ref: 'mid', dependsOn: ['lodash'] },
      ],
    },
  );
  const { status, report: r } = report(nested);
  assert.equal(status, 1);
  assert.ok(found(r).includes('RUSTSEC-2021-0003 smallvec@1.6.0'), found(r).join(', '));
  assert.ok(found(r).includes('GHSA-35jh-r3h4-6jhm lodash@4.17.20'), found(r).join(', '));
  const smallvec = r.findings.find((f) => f.package.name === 'smallvec');
  assert.deepEqual(smallvec?.paths[0], ['app@1.0.0', 'lvl1@1.0.0', 'lvl2@1.0.0', 'smallvec@1.6.0']);
  assert.deepEqual(r.targets.map((t) => [t.ecosystem, t.packages]), [['cargo', 5], ['npm', 3]]);
});

test('a vulnerable crate 3,000 components deep is found (no recursion limit)', () => {
  // Written as text: JSON.stringify itself recurses.
  const depth = 3000;
  let text = '{"bomFormat": "CycloneDX", "specVersion": "1.6", "dependencies": [], "components": [';
  for (let i = 0; i < depth; i++) text += `{"type": "library", "bom-ref": "wrap${i}", "name": "wrap${i}", "version": "1.0.0", "purl": "pkg:cargo/wrap${i}@1.0.0", "components": [`;
  text += JSON.stringify(SMALLVEC) + ']}'.repeat(depth) + ']}';
  const path = join(work, 'deep.cdx.json');
  writeFileSync(path, text);
  const { status, report: r } = report(path);
  assert.equal(status, 1);
  assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  assert.equal(r.targets[0]?.packages, depth + 1);
});

test('a library without a purl refuses the SBOM, naming it; --allow-unidentified reports it as not audited', () => {
  const path = sbom([SMALLVEC, { type: 'library', 'bom-ref': 'mystery', name: 'mystery', version: '2.0.0' }, { type: 'library', name: 'anonymous', version: '0.1.0' }]);
  refused(path, /: 2 components name packages stowage cannot identify, so cannot audit: "mystery": no purl, "components\[2\]" \("anonymous"\): no purl; pass --allow-unidentified/);
  const { status, report: r } = report(path, '--allow-unidentified');
  assert.equal(status, 1, 'the identified vulnerable crate still fails');
  assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  assert.deepEqual(r.targets[0]?.unidentified, [
    { ref: 'mystery', name: 'mystery', version: '2.0.0', reason: 'no purl' },
    { ref: 'components[2]', name: 'anonymous', version: '0.1.0', reason: 'no purl' },
  ]);
  assert.ok(r.warnings.some((w) => w.startsWith('2 components not audited, not identified as packages: "mystery": no purl')), r.warnings.join('\n'));
  const human = audit(path, '--allow-unidentified');
  assert.equal(human.status, 1);
  assert.match(human.stdout, /2 packages, 1 matched against advisories, 2 components not identified, not audited/);
  assert.match(human.stdout, /^warning: 2 components not audited, not identified as packages: "mystery": no purl, "components\[2\]" \("anonymous"\): no purl$/m);
  const sarif = audit(path, '--allow-unidentified', '--format', 'sarif');
  assert.equal(sarif.status, 1);
  assert.match(sarif.stdout, /"text": "2 components not audited, not identified as packages/);
});

test('a purl whose version contradicts the component version is not identified (either could be what shipped)', () => {
  const cargo = sbom([{ ...SMALLVEC, version: '1.6.1' }]);
  refused(cargo, /1 component names a package stowage cannot identify, so cannot audit: "smallvec": purl version 1\.6\.0 contradicts version 1\.6\.1; pass --allow-unidentified/);
  const npm = sbom([SAFE_CRATE, { ...LODASH, purl: 'pkg:npm/lodash@4.17.21' }]);
  refused(npm, /"lodash": purl version 4\.17\.21 contradicts version 4\.17\.20/);
  const { status, report: r } = report(npm, '--allow-unidentified');
  assert.equal(status, 0);
  assert.deepEqual(r.targets.map((t) => t.unidentified.map((u) => u.reason)), [['purl version 4.17.21 contradicts version 4.17.20']]);
  // The percent-encoded `+` of build metadata is the same version.
  const encoded = sbom([{ ...SAFE_CRATE, version: '1.0.11+build.5', purl: 'pkg:cargo/itoa@1.0.11%2Bbuild.5' }]);
  assert.equal(audit(encoded).status, 0);
});

test('a purl whose name contradicts the component name or group is not identified', () => {
  refused(sbom([{ ...SMALLVEC, name: 'serde' }]), /"smallvec" \("serde"\): purl names smallvec, the component serde/);
  // An npm name that no alias could have (not a package name) contradicts the purl; one that
  // could is an alias (next test).
  refused(
    sbom([{ type: 'library', 'bom-ref': 'b', group: '@babel', name: 'core traverse', version: '7.23.0', purl: 'pkg:npm/%40babel/traverse@7.23.0' }]),
    /"b" \("@babel\/core traverse"\): purl names @babel\/traverse, the component @babel\/core traverse/,
  );
  refused(sbom([{ ...LODASH, name: '.lodash' }]), /"lodash" \("\.lodash"\): purl names lodash, the component \.lodash/);
  refused(sbom([{ ...SMALLVEC, group: 'rust' }]), /"smallvec" \("rust\/smallvec"\): purl names smallvec, the component rust\/smallvec/);
});

test('an npm alias (npm sbom names the component by its alias, the purl by the package) audits the purl\'s package; not for the application', () => {
  // As npm 11's `npm sbom --sbom-format cyclonedx` writes `"lodash-old": "npm:lodash@4.17.20"`
  // and `"@my/traverse": "npm:@babel/traverse@7.23.0"`: name the alias, bom-ref and purl the package.
  const path = sbom([
    { ...LODASH, 'bom-ref': 'lodash@4.17.20', name: 'lodash-old' },
    { type: 'library', 'bom-ref': '@babel/traverse@7.23.0', name: '@my/traverse', version: '7.23.0', purl: 'pkg:npm/%40babel/traverse@7.23.0' },
  ]);
  const { status, report: r } = report(path);
  assert.equal(status, 1);
  assert.deepEqual(found(r), ['GHSA-29mw-wpgm-hmr9 lodash@4.17.20', 'GHSA-35jh-r3h4-6jhm lodash@4.17.20', 'GHSA-67hx-6x53-jw92 @babel/traverse@7.23.0']);
  // The application is installed under no alias: a name other than its purl's leaves it the application.
  const app = report(sbom([SAFE_CRATE], { app: { type: 'library', 'bom-ref': 'app', name: 'lodash-app', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' } }));
  assert.equal(app.status, 0);
  assert.deepEqual(found(app.report), []);
});

test('scoped npm packages: %40 and unencoded scopes, group and name, type case, all match the advisory', () => {
  const variants: Component[] = [
    { type: 'library', 'bom-ref': 'a', group: '@babel', name: 'traverse', version: '7.23.0', purl: 'pkg:npm/%40babel/traverse@7.23.0' },
    { type: 'library', 'bom-ref': 'a', name: '@babel/traverse', version: '7.23.0', purl: 'pkg:npm/%40babel/traverse@7.23.0' },
    { type: 'library', 'bom-ref': 'a', name: '@babel/traverse', version: '7.23.0', purl: 'pkg:npm/@babel/traverse@7.23.0' },
    { type: 'library', 'bom-ref': 'a', group: 'babel', name: 'traverse', version: '7.23.0', purl: 'pkg:NPM/%40Babel/Traverse@7.23.0?repository_url=https://registry.npmjs.org' },
    { type: 'library', 'bom-ref': 'a', name: '@babel/traverse', purl: 'pkg://npm/%40babel/traverse@7.23.0#lib/index.js' },
  ];
  for (const variant of variants) {
    const { status, report: r } = report(sbom([variant]));
    assert.equal(status, 1, JSON.stringify(variant));
    assert.deepEqual(found(r), ['GHSA-67hx-6x53-jw92 @babel/traverse@7.23.0'], JSON.stringify(variant));
  }
  refused(sbom([{ type: 'library', 'bom-ref': 'a', name: 'traverse', version: '7.23.0', purl: 'pkg:npm/%40babel/x/traverse@7.23.0' }]), /"a" \("traverse"\): purl not understood \(pkg:npm has at most one namespace, the scope\)/);
});

test('pkg:generic and other ecosystems: a library is refused, a file or an operating system is no package', () => {
  const generic = sbom([SMALLVEC, { type: 'library', 'bom-ref': 'zlib', name: 'zlib', version: '1.3', purl: 'pkg:generic/zlib@1.3' }, { type: 'library', 'bom-ref': 'py', name: 'requests', version: '2.0', purl: 'pkg:pypi/requests@2.0' }]);
  refused(generic, /2 components name packages stowage cannot identify, so cannot audit: "zlib": pkg:generic is not an ecosystem stowage audits, "py" \("requests"\): pkg:pypi is not an ecosystem stowage audits/);
  const { report: r } = report(generic, '--allow-unidentified');
  assert.deepEqual(r.targets[0]?.unidentified.map((u) => u.ref), ['zlib', 'py']);
  assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0']);

  const notPackages = sbom([
    SMALLVEC,
    { type: 'file', 'bom-ref': 'f', name: 'README.md', hashes: [{ alg: 'SHA-256', content: '00' }] },
    { type: 'operating-system', 'bom-ref': 'os', name: 'debian', version: '12', purl: 'pkg:generic/debian@12' },
    { type: 'container', 'bom-ref': 'img', name: 'app', purl: 'pkg:oci/app@sha256%3Aabc', components: [{ ...LODASH }] },
  ]);
  const passed = report(notPackages);
  assert.equal(passed.status, 1);
  assert.deepEqual(found(passed.report), ['GHSA-29mw-wpgm-hmr9 lodash@4.17.20', 'GHSA-35jh-r3h4-6jhm lodash@4.17.20', 'RUSTSEC-2021-0003 smallvec@1.6.0']);
  assert.deepEqual(passed.report.targets.map((t) => t.unidentified), [[], []]);

  // A purl type spelled like an Object property is another ecosystem too (pkg:constructor was an internal error).
  const constructor = sbom([SMALLVEC, { type: 'library', 'bom-ref': 'c', name: 'x', version: '1.0.0', purl: 'pkg:constructor/x@1.0.0' }]);
  refused(constructor, /1 component names a package stowage cannot identify, so cannot audit: "c" \("x"\): pkg:constructor is not an ecosystem stowage audits/);
  const allowed = report(constructor, '--allow-unidentified');
  assert.deepEqual(allowed.report.targets[0]?.unidentified.map((u) => u.ref), ['c']);
  assert.deepEqual(found(allowed.report), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
});

test('unparsable purls and a component type stowage does not know are not identified', () => {
  refused(sbom([{ ...SMALLVEC, purl: 'pkg:cargo/smallvec@1.6.%zz' }]), /"smallvec": purl not understood \(the version has bad percent-encoding\)/);
  refused(sbom([{ ...SMALLVEC, purl: 'cargo/smallvec@1.6.0' }]), /"smallvec": purl not understood \(does not start with pkg:\)/);
  refused(sbom([{ ...SMALLVEC, purl: 'pkg:cargo/rust/smallvec@1.6.0' }]), /"smallvec": purl not understood \(pkg:cargo has no namespace\)/);
  refused(sbom([{ ...SMALLVEC, purl: 7 }]), /"smallvec": purl is not a string/);
  refused(sbom([{ type: 'module', 'bom-ref': 'm', name: 'm', version: '1' }]), /"m": no purl/);
  refused(sbom([{ type: 'library', 'bom-ref': 'nv', name: 'smallvec', purl: 'pkg:cargo/smallvec' }]), /"nv" \("smallvec"\): no version/);
  refused(sbom([{ ...SMALLVEC, version: 160 }]), /"smallvec": version is not a non-empty string/);
  refused(sbom([{ ...SAFE_CRATE, components: { nested: SMALLVEC } }]), /: components\[0\]\.components must be an array$/);
  refused(sbom([{ ...SAFE_CRATE, components: [[SMALLVEC]] }]), /: components\[0\]\.components\[0\] is not an object$/);
});

test('a version that is a range or partial names no one package: not identified, instead of an advisory blamed for it', () => {
  // Before: exit 2 with "advisory GHSA-29mw-wpgm-hmr9 cannot be evaluated for lodash ^4.17.0", naming the advisory's file.
  for (const version of ['^4.17.0', '4.17', '4.17.4 || 5', '=4.17.20']) {
    refused(sbom([SAFE_CRATE, { ...LODASH, version, purl: `pkg:npm/lodash@${encodeURIComponent(version)}` }]), new RegExp(`"lodash": version ${version.replace(/[.*+?^|]/g, '\\$&')} is not one npm version \\(not a semantic version\\)`));
  }
  refused(sbom([{ ...SMALLVEC, version: '1.6', purl: 'pkg:cargo/smallvec@1.6' }]), /"smallvec": version 1\.6 is not one cargo version \(unexpected end of input while parsing minor version number\); pass --allow-unidentified/);
  const { status, report: r } = report(sbom([SMALLVEC, { ...LODASH, version: '^4.17.0', purl: 'pkg:npm/lodash@%5E4.17.0' }]), '--allow-unidentified');
  assert.equal(status, 1);
  assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  assert.deepEqual(r.targets[0]?.unidentified.map((u) => u.ref), ['lodash']);
  // A git package's version is the audit's to judge: one it cannot compare is refused as not audited.
  const git = audit(sbom([SAFE_CRATE, { ...LODASH, version: 'abc123', purl: 'pkg:npm/lodash@abc123?vcs_url=git%2Bhttps://github.com/lodash/lodash.git' }]));
  assert.equal(git.status, 2);
  assert.match(git.stderr, /1 package not from a registry \(git, tarball\) NOT audited: .* lodash abc123/);
});

test('the application itself is audited when its purl names a registry package (an SBOM of a published package); a checkout is not', () => {
  const published = sbom([SAFE_CRATE], { app: { type: 'library', 'bom-ref': 'app', name: 'lodash', version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20' } });
  const r = report(published);
  assert.equal(r.status, 1);
  assert.deepEqual(found(r.report), ['GHSA-29mw-wpgm-hmr9 lodash@4.17.20', 'GHSA-35jh-r3h4-6jhm lodash@4.17.20']);
  assert.deepEqual(r.report.findings[0]?.paths, [['lodash@4.17.20']]);
  // Without a bom-ref (nothing can depend on it by name): still audited.
  const unnamed = sbom([SAFE_CRATE], { app: { type: 'application', name: 'smallvec', version: '1.6.0', purl: 'pkg:cargo/smallvec@1.6.0' }, dependencies: [] });
  assert.deepEqual(found(report(unnamed).report), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  // A component whose bom-ref is that purl (as tools name components) is another node, not a clash.
  const clash = sbom([{ ...SMALLVEC, 'bom-ref': 'pkg:cargo/smallvec@1.6.0' }], { app: { type: 'application', name: 'smallvec', version: '1.6.0', purl: 'pkg:cargo/smallvec@1.6.0' }, dependencies: [] });
  const clashed = report(clash);
  assert.equal(clashed.status, 1);
  assert.equal(clashed.report.targets[0]?.packages, 2);
  // cargo-cyclonedx's root (a checkout), a git checkout, a purl without a version: the project's own source, as a lockfile's root.
  for (const purl of ['pkg:cargo/smallvec@1.6.0?download_url=file://.', 'pkg:npm/lodash@4.17.20?vcs_url=git%2Bhttps://github.com/lodash/lodash.git', 'pkg:npm/lodash']) {
    const name = purl.startsWith('pkg:cargo') ? 'smallvec' : 'lodash';
    const checkout = report(sbom([SAFE_CRATE], { app: { type: 'application', 'bom-ref': 'app', name, ...(purl === 'pkg:npm/lodash' ? {} : { version: name === 'smallvec' ? '1.6.0' : '4.17.20' }), purl } }));
    assert.equal(checkout.status, 0, purl);
  }

  const spdx = join(work, 'published.spdx.json');
  writeFileSync(
    spdx,
    JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: 'lodash',
      documentDescribes: ['SPDXRef-lodash'],
      packages: [{ SPDXID: 'SPDXRef-lodash', name: 'lodash', versionInfo: '4.17.20', downloadLocation: 'NOASSERTION', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:npm/lodash@4.17.20' }] }],
    }),
  );
  const fromSpdx = report(spdx);
  assert.equal(fromSpdx.status, 1);
  assert.deepEqual(found(fromSpdx.report), ['GHSA-29mw-wpgm-hmr9 lodash@4.17.20', 'GHSA-35jh-r3h4-6jhm lodash@4.17.20']);
});

test('a duplicate bom-ref, at any depth or shared with the application, refuses the SBOM even with --allow-unidentified', () => {
  const nestedDuplicate = sbom([{ ...SAFE_CRATE, components: [{ type: 'library', 'bom-ref': 'x', name: 'x', version: '1', purl: 'pkg:cargo/x@1', components: [{ ...SMALLVEC, 'bom-ref': 'itoa' }] }] }]);
  refused(nestedDuplicate, /bom-ref "itoa" appears twice \(components\[0\] and components\[0\]\.components\[0\]\.components\[0\]\)/);
  refused(nestedDuplicate, /appears twice/, '--allow-unidentified');
  refused(sbom([{ ...SMALLVEC, 'bom-ref': 'app' }]), /bom-ref "app" appears twice \(metadata\.component and components\[0\]\)/);
});

test('a bom-ref that spells the purl of a component listed without one refuses the SBOM, in either order', () => {
  // The bom-ref-less smallvec goes by its purl; itoa's bom-ref was that purl too, and the audit
  // reported smallvec's advisory on the path app → itoa, with "update itoa" as its fix.
  const purl = SMALLVEC.purl;
  const later = sbom([{ ...SMALLVEC, 'bom-ref': undefined }, { ...SAFE_CRATE, 'bom-ref': purl }], { dependencies: [{ ref: 'app', dependsOn: [purl] }] });
  refused(later, /bom-ref "pkg:cargo\/smallvec@1\.6\.0" of components\[1\] is the purl of components\[0\], listed without a bom-ref: edges to it would be ambiguous$/);
  refused(later, /is the purl of components\[0\]/, '--allow-unidentified');
  // The same package listed both ways is refused too, as it already was with the bom-ref first.
  refused(sbom([{ ...SMALLVEC, 'bom-ref': undefined }, { ...SMALLVEC, 'bom-ref': purl }]), /is the purl of components\[0\]/);
  refused(sbom([{ ...SMALLVEC, 'bom-ref': purl }, { ...SMALLVEC, 'bom-ref': undefined }]), /components\[1\]: purl "pkg:cargo\/smallvec@1\.6\.0" is listed twice without a bom-ref/);
});

test('dependencies may name services (CycloneDX 1.4+, nested at any depth); a service sharing a component\'s bom-ref is refused', () => {
  const withServices = (services: unknown[], components: Component[], dependencies: unknown[]): string => {
    const path = join(work, `case-${++count}.cdx.json`);
    const app = { type: 'application', 'bom-ref': 'app', name: 'app', version: '1.0.0' };
    writeFileSync(path, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, metadata: { component: app }, components, services, dependencies }));
    return path;
  };
  // A service 2,000 levels deep: walked without recursion.
  let deep: Record<string, unknown> = { 'bom-ref': 'svc-deep', name: 'deep' };
  for (let i = 0; i < 2000; i++) deep = { name: `s${i}`, services: [deep] };
  const services = [{ 'bom-ref': 'svc-api', name: 'api', services: [{ 'bom-ref': 'svc-db', name: 'db' }] }, deep];
  const path = withServices(services, [SMALLVEC], [
    { ref: 'app', dependsOn: ['smallvec', 'svc-api'] },
    { ref: 'svc-api', dependsOn: ['svc-db', 'smallvec', 'svc-deep'] },
    { ref: 'svc-deep' },
  ]);
  const { status, report: r } = report(path);
  assert.equal(status, 1);
  assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  assert.deepEqual(r.warnings.filter((w) => !w.startsWith('advisory database ')), []);
  // A bom-ref a service and a component both have: edges to it would be ambiguous, as between two components.
  refused(withServices([{ 'bom-ref': 'x', name: 'x', services: [{ 'bom-ref': 'smallvec', name: 'svc' }] }], [SMALLVEC], [{ ref: 'app', dependsOn: ['smallvec'] }]), /bom-ref "smallvec" appears twice \(services\[0\]\.services\[0\] and components\[0\]\): edges to it would be ambiguous$/, '--allow-unidentified');
  refused(withServices([{ 'bom-ref': 'app', name: 'svc' }], [SMALLVEC], []), /bom-ref "app" appears twice \(services\[0\] and metadata\.component\)/);
  refused(withServices([{ 'bom-ref': 'pkg:cargo/smallvec@1.6.0', name: 'svc' }], [{ ...SMALLVEC, 'bom-ref': undefined }], []), /components\[0\]: purl "pkg:cargo\/smallvec@1\.6\.0" is listed twice without a bom-ref/);
  refused(withServices({ name: 'x' } as unknown as unknown[], [SMALLVEC], []), /: services must be an array$/);
  refused(withServices([{ name: 'x', services: ['y'] }], [SMALLVEC], []), /: services\[0\]\.services\[0\] is not an object$/);
  // An edge to a service nobody lists is dangling still.
  refused(withServices([], [SMALLVEC], [{ ref: 'app', dependsOn: ['smallvec', 'svc-ghost'] }]), /dependencies name 1 bom-ref no component has, so the graph is incomplete: "svc-ghost"/);
});

test('an edge to a bom-ref no component has refuses the SBOM; --allow-unidentified lists it', () => {
  const path = sbom([SAFE_CRATE, SMALLVEC], { dependencies: [{ ref: 'app', dependsOn: ['itoa', 'ghost'] }, { ref: 'phantom', dependsOn: ['smallvec'] }] });
  refused(path, /dependencies name 2 bom-refs no component has, so the graph is incomplete: "ghost", "phantom"; pass --allow-unidentified/);
  const { status, report: r } = report(path, '--allow-unidentified');
  assert.equal(status, 1);
  assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  assert.ok(r.warnings.includes('2 dependencies name bom-refs no component has, not read: "ghost", "phantom"'), r.warnings.join('\n'));
  refused(sbom([SMALLVEC], { dependencies: [{ dependsOn: ['smallvec'] }] }), /: dependencies\[0\] is not an object with a "ref"$/);
  refused(sbom([SMALLVEC], { dependencies: [{ ref: 'app', dependsOn: 'smallvec' }] }), /: dependencies\[0\]\.dependsOn must be an array of bom-refs$/);
});

test('a refusal lists five components and counts the rest; control characters in names are escaped', () => {
  const many = Array.from({ length: 8 }, (_, i) => ({ type: 'library', 'bom-ref': `u${i}`, name: `u${i}\u001b[2K`, version: '1' }));
  const line = refused(sbom([SMALLVEC, ...many]), /8 components name packages .*"u4" \("u4\\u001b\[2K"\): no purl and 3 more; pass --allow-unidentified/);
  assert.ok(!line.includes('\u001b'));
  const hostileVersion = refused(sbom([{ ...SMALLVEC, purl: 'pkg:cargo/smallvec@1.6.0%1B%5B2K%0Aresult:%20ok' }]), /purl version 1\.6\.0\\u001b\[2K\\nresult: ok contradicts version 1\.6\.0/);
  assert.ok(!hostileVersion.includes('\u001b'));
});

test('crates.io spelled as the purl type default or as Cargo index URLs is crates.io; another registry is another crate', () => {
  // With Cargo's source-id prefix too, as a Cargo.lock `source` copied into the purl reads (before: another registry, not audited).
  for (const repo of ['https://crates.io', 'https://github.com/rust-lang/crates.io-index', 'https://index.crates.io/', 'sparse%2Bhttps://index.crates.io/', 'registry%2Bhttps://github.com/rust-lang/crates.io-index']) {
    const { status, report: r } = report(sbom([{ ...SMALLVEC, purl: `pkg:cargo/smallvec@1.6.0?repository_url=${repo}` }]));
    assert.equal(status, 1, repo);
    assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0'], repo);
  }
  // Another registry's crate is matched by name and version too (most often a mirror of crates.io), its finding naming the registry.
  for (const [repo, source] of [['https://my-registry.example/index', 'https://my-registry.example/index'], ['sparse%2Bhttps://my-registry.example/index/', 'sparse+https://my-registry.example/index/']]) {
    const other = report(sbom([{ ...SMALLVEC, purl: `pkg:cargo/smallvec@1.6.0?repository_url=${repo}` }]));
    assert.equal(other.status, 1, repo);
    assert.equal(other.report.targets[0]?.audited, 1, repo);
    assert.deepEqual(other.report.findings.map((f) => `${f.advisory.id} ${f.package.source}`), [`RUSTSEC-2021-0003 ${source}`], repo);
  }
  // A git crate (smallvec's own repository here) is matched by its name and version, as a Cargo.lock's git crates are.
  const git = report(sbom([{ ...SMALLVEC, purl: 'pkg:cargo/smallvec@1.6.0?vcs_url=git%2Bssh://git@github.com/servo/rust-smallvec.git' }]));
  assert.equal(git.status, 1);
  assert.deepEqual(found(git.report), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  // crates.io named beside a vcs_url (the crate's upstream repository): crates.io's crate.
  const both = report(sbom([{ ...SMALLVEC, purl: 'pkg:cargo/smallvec@1.6.0?repository_url=https://crates.io&vcs_url=git%2Bhttps://github.com/servo/rust-smallvec' }]));
  assert.equal(both.status, 1);
  assert.deepEqual(found(both.report), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
});

test('a crate from another registry (CycloneDX, SPDX) is matched by name and version, and a warning says the finding rests on them', () => {
  const purl = 'pkg:cargo/smallvec@1.6.0?repository_url=https://my-registry.example/index';
  for (const path of [sbom([{ ...SMALLVEC, purl }]), spdx(purl)]) {
    const { status, report: r } = report(path);
    assert.equal(status, 1, path);
    assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0'], path);
    assert.equal(r.targets[0]?.audited, 1, path);
    assert.deepEqual(
      r.warnings.filter((w) => w.startsWith(path)),
      [
        `${path}: 1 crate from a registry other than crates.io matched against advisories by name and version ` +
          "(advisories name crates.io's crates; a crate of the same name and version from another registry is usually crates.io's, mirrored: " +
          'ignore an advisory that does not apply with --ignore ID=REASON): smallvec 1.6.0 (https://my-registry.example/index)',
      ],
    );
  }
  // At a version no advisory names: audited, and nothing said.
  const safe = sbom([{ ...SMALLVEC, version: '1.13.2', purl: 'pkg:cargo/smallvec@1.13.2?repository_url=https://my-registry.example/index' }]);
  const { status, report: r } = report(safe);
  assert.equal(status, 0);
  assert.equal(r.targets[0]?.audited, 1);
  assert.deepEqual(r.warnings.filter((w) => w.startsWith(safe)), []);
});

test('a crate purl with only a download_url: crates.io\'s download URLs are crates.io\'s crate, any other is not identified (CycloneDX and SPDX)', () => {
  const cratesIo = [
    'https://static.crates.io/crates/smallvec/smallvec-1.6.0.crate',
    'https://static.crates.io/crates/smallvec/1.6.0/download',
    'https://crates.io/api/v1/crates/smallvec/1.6.0/download',
  ];
  for (const url of cratesIo) {
    // Before: a crate from "elsewhere", silently not audited (exit 0).
    const { status, report: r } = report(sbom([{ ...SMALLVEC, purl: `pkg:cargo/smallvec@1.6.0?download_url=${url}` }]));
    assert.equal(status, 1, url);
    assert.deepEqual(found(r), ['RUSTSEC-2021-0003 smallvec@1.6.0'], url);
  }
  for (const [url, reason] of [
    ['https://mirror.example/crates/smallvec/smallvec-1.6.0.crate', /download_url https:\/\/mirror\.example\/crates\/smallvec\/smallvec-1\.6\.0\.crate is not crates\.io's/],
    ['https://static.crates.io.evil.example/crates/smallvec/smallvec-1.6.0.crate', /is not crates\.io's/],
    ['https://static.crates.io/crates/smallvec/smallvec-1.6.1.crate', /download_url .* serves smallvec 1\.6\.1, not smallvec 1\.6\.0/],
  ] as const) {
    const path = sbom([{ ...SMALLVEC, purl: `pkg:cargo/smallvec@1.6.0?download_url=${url}` }, SAFE_CRATE]);
    refused(path, reason);
    const allowed = report(path, '--allow-unidentified');
    assert.equal(allowed.status, 0, url);
    assert.deepEqual(allowed.report.targets[0]?.unidentified.map((u) => u.name), ['smallvec'], url);
  }
  // A checkout (cargo-cyclonedx's download_url=file://) is the project's own source, as before.
  assert.equal(report(sbom([{ ...SMALLVEC, purl: 'pkg:cargo/smallvec@1.6.0?download_url=file://vendor/smallvec' }])).status, 0);

  const viaSpdx = report(spdx(`pkg:cargo/smallvec@1.6.0?download_url=${cratesIo[0] as string}`));
  assert.equal(viaSpdx.status, 1);
  assert.deepEqual(found(viaSpdx.report), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  refused(spdx('pkg:cargo/smallvec@1.6.0?download_url=https://mirror.example/smallvec-1.6.0.crate'), /"SPDXRef-smallvec" \("smallvec"\): download_url .* is not crates\.io's/);
});

test('one package listed as two components (bom-refs or SPDX ids differing): one finding, with the paths through both', () => {
  const a = { type: 'library', 'bom-ref': 'a', name: 'a', version: '1.0.0', purl: 'pkg:cargo/a@1.0.0' };
  const b = { type: 'library', 'bom-ref': 'b', name: 'b', version: '1.0.0', purl: 'pkg:cargo/b@1.0.0' };
  const cdx = sbom([a, b, { ...SMALLVEC, 'bom-ref': 'smallvec-1' }, { ...SMALLVEC, 'bom-ref': 'smallvec-2', purl: 'pkg:cargo/smallvec@1.6.0?repository_url=https://crates.io' }], {
    dependencies: [
      { ref: 'app', dependsOn: ['a', 'b'] },
      { ref: 'a', dependsOn: ['smallvec-1'] },
      { ref: 'b', dependsOn: ['smallvec-2'] },
    ],
  });
  const spdxPackage = (id: string, name: string, purl?: string): Component => ({
    SPDXID: id,
    name,
    versionInfo: name === 'smallvec' ? '1.6.0' : '1.0.0',
    downloadLocation: 'NOASSERTION',
    ...(purl === undefined ? {} : { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }] }),
  });
  const spdxFile = spdxDocument(
    [
      spdxPackage('SPDXRef-app', 'app'),
      spdxPackage('SPDXRef-a', 'a', 'pkg:cargo/a@1.0.0'),
      spdxPackage('SPDXRef-b', 'b', 'pkg:cargo/b@1.0.0'),
      spdxPackage('SPDXRef-s1', 'smallvec', 'pkg:cargo/smallvec@1.6.0'),
      spdxPackage('SPDXRef-s2', 'smallvec', 'pkg:cargo/smallvec@1.6.0'),
    ],
    [
      { spdxElementId: 'SPDXRef-app', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-a' },
      { spdxElementId: 'SPDXRef-app', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-b' },
      { spdxElementId: 'SPDXRef-a', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-s1' },
      { spdxElementId: 'SPDXRef-b', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-s2' },
    ],
  );
  for (const path of [cdx, spdxFile]) {
    const { status, report: r } = report(path);
    assert.equal(status, 1, path);
    // Before: the finding twice, one path each, and smallvec counted twice.
    assert.deepEqual(
      r.findings.map((f) => [f.advisory.id, f.package.name, f.paths]),
      [['RUSTSEC-2021-0003', 'smallvec', [['app@1.0.0', 'a@1.0.0', 'smallvec@1.6.0'], ['app@1.0.0', 'b@1.0.0', 'smallvec@1.6.0']]]],
      path,
    );
    assert.equal(r.targets[0]?.packages, 4, path);
  }
});

test('one package listed as a development-only component and as a shipped one is still audited under --omit dev, whichever comes first', () => {
  // CycloneDX scope `excluded` (not part of the runtime) is read as a development dependency;
  // the package is one, and it ships through the component that is not excluded.
  const excluded = { ...LODASH, 'bom-ref': 'lodash-test', scope: 'excluded' };
  const shipped = { ...LODASH, 'bom-ref': 'lodash-runtime', scope: 'required' };
  for (const order of [[excluded, shipped], [shipped, excluded]]) {
    const path = sbom(order);
    const { status, report: r } = report(path, '--omit', 'dev');
    assert.equal(status, 1, path);
    assert.deepEqual(found(r), ['GHSA-29mw-wpgm-hmr9 lodash@4.17.20', 'GHSA-35jh-r3h4-6jhm lodash@4.17.20'], path);
  }
  // Listed only as excluded, it is left out, as a lockfile's development dependency is.
  const devOnly = report(sbom([excluded]), '--omit', 'dev');
  assert.equal(devOnly.status, 0);
  assert.deepEqual(found(devOnly.report), []);
});

test('a crate of scope "excluded" in another tool\'s SBOM may be a build-dependency: --omit dev keeps it, with a warning; in stowage\'s own it is dev-only', () => {
  // cargo-cyclonedx writes scope "excluded" for every crate that is not a normal dependency,
  // build-dependencies included, which a Cargo.lock audit keeps under --omit dev.
  const cargoCyclonedx = (tools: unknown, components: Component[]): string => {
    const path = join(work, `case-${++count}.cdx.json`);
    const app = { type: 'application', 'bom-ref': 'app', name: 'app', version: '1.0.0' };
    const refs = components.map((c) => c['bom-ref']);
    writeFileSync(path, JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, metadata: { tools, component: app }, components, dependencies: [{ ref: 'app', dependsOn: refs }] }));
    return path;
  };
  const buildDep = { ...SMALLVEC, 'bom-ref': 'registry+https://github.com/rust-lang/crates.io-index#smallvec@1.6.0', scope: 'excluded' };
  const other = cargoCyclonedx([{ vendor: 'CycloneDX', name: 'cargo-cyclonedx', version: '0.5.7' }], [buildDep, { ...SAFE_CRATE, scope: 'required' }]);
  const kept = report(other, '--omit', 'dev');
  assert.equal(kept.status, 1);
  assert.deepEqual(found(kept.report), ['RUSTSEC-2021-0003 smallvec@1.6.0']);
  assert.ok(
    kept.report.warnings.includes(`--omit dev not applied to ${other}: 1 crate is of scope "excluded", which cargo-cyclonedx writes for build-dependencies as for dev-dependencies, so none is known to be dev-only`),
    kept.report.warnings.join('\n'),
  );
  // Without --omit nothing is said about it.
  assert.ok(!report(other).report.warnings.some((w) => w.includes('excluded')));
  // stowage's own SBOM marks a crate excluded only when dev-dependencies alone bring it in (1.6 and 1.4 tool lists).
  for (const tools of [{ components: [{ type: 'application', name: 'stowage', version: '1.0.0' }] }, [{ name: 'stowage', version: '1.0.0' }]]) {
    const own = report(cargoCyclonedx(tools, [buildDep, SAFE_CRATE]), '--omit', 'dev');
    assert.equal(own.status, 0);
    assert.deepEqual(found(own.report), []);
  }
  // An npm package of scope "excluded" is dev-only whoever wrote it: npm has no build-dependencies to take for dev ones.
  const npmDev = report(cargoCyclonedx([{ name: 'cargo-cyclonedx' }], [{ ...LODASH, scope: 'excluded' }]), '--omit', 'dev');
  assert.deepEqual(found(npmDev.report), []);
});

test('an npm name that differs from its purl in case only is audited in lower case: every advisory either spelling has matches', () => {
  // pkg:npm lower-cases names, so `Lodash` beside pkg:npm/lodash may be a misspelling of lodash (audited as
  // `Lodash`, no advisory would ever match), and `JSONStream` beside pkg:npm/jsonstream the legacy package.
  const misspelt = report(sbom([{ ...LODASH, name: 'Lodash' }]));
  assert.equal(misspelt.status, 1);
  assert.deepEqual(found(misspelt.report), ['GHSA-29mw-wpgm-hmr9 lodash@4.17.20', 'GHSA-35jh-r3h4-6jhm lodash@4.17.20']);
  const scoped = report(sbom([{ type: 'library', 'bom-ref': 'b', group: '@Babel', name: 'Traverse', version: '7.23.0', purl: 'pkg:npm/%40babel/traverse@7.23.0' }]));
  assert.deepEqual(found(scoped.report), ['GHSA-67hx-6x53-jw92 @babel/traverse@7.23.0']);

  const db = join(work, 'osv-caps');
  mkdirSync(db, { recursive: true });
  writeFileSync(
    join(db, 'GHSA-test-caps-0001.json'),
    JSON.stringify({
      id: 'GHSA-test-caps-0001',
      modified: '2024-01-01T00:00:00Z',
      summary: 'fixture',
      affected: [{ package: { ecosystem: 'npm', name: 'JSONStream' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.6' }] }] }],
    }),
  );
  for (const purl of ['pkg:npm/jsonstream@1.3.5', 'pkg:npm/JSONStream@1.3.5']) {
    const path = sbom([{ type: 'library', 'bom-ref': 'js', name: 'JSONStream', version: '1.3.5', purl }]);
    const r = runCli(['audit', path, '--db', db, '--format', 'json'], { cacheDir });
    assert.equal(r.status, 1, r.stderr);
    const spelt = purl.includes('JSONStream') ? 'JSONStream' : 'jsonstream';
    assert.deepEqual(found(auditReport(r.stdout)), [`GHSA-test-caps-0001 ${spelt}@1.3.5`], purl);
  }
});

test('a crate name that differs from its purl in case or "-" against "_" only is the one crates.io crate, matched', () => {
  const cased = report(sbom([{ ...SMALLVEC, name: 'SmallVec' }]));
  assert.equal(cased.status, 1);
  assert.deepEqual(found(cased.report), ['RUSTSEC-2021-0003 SmallVec@1.6.0']);
  const dashed = report(sbom([{ ...SAFE_CRATE, name: 'serde_json', purl: 'pkg:cargo/serde-json@1.0.11' }]));
  assert.equal(dashed.status, 0);
  assert.equal(dashed.report.targets[0]?.audited, 1);
});

test('--allow-unidentified is an audit option only: vendor, sbom and package rpm do not accept it', () => {
  for (const command of [['vendor'], ['sbom'], ['package', 'rpm']]) {
    const r = runCli([...command, work, '--allow-unidentified'], { cacheDir });
    assert.notEqual(r.status, 0, command.join(' '));
    assert.match(r.stderr, /unknown option '--allow-unidentified'/, command.join(' '));
  }
  const help = runCli(['audit', '--help'], { cacheDir });
  assert.match(help.stdout, /--allow-unidentified/);
});
