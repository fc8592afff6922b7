import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { cycloneDx16Validator, spdx23Validator } from '../support/json-schema.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { buildDeb, buildRpm, dockerSaveArchive, installedLayers, realRustBinary, testDebs, whyNoTestDebs } from '../support/shipped-artifacts.js';

/**
 * `stowage sbom` on what shipped, as `stowage audit` reads it: Debian's own .deb files, an RPM
 * built by rpmbuild and a docker save image around a real Rust binary and node_modules tree.
 * The artifact is the application; each binary and node_modules root inside it an application
 * component; each package says where it was learnt from; a partial inventory is refused
 * without --allow-partial and, with it, said in the document. Every document is checked
 * against the official CycloneDX 1.6 and SPDX 2.3 schemas.
 */

const cacheDir = tempDir('sbom-shipped-cache');
const validateCycloneDx = cycloneDx16Validator();
const validateSpdx = spdx23Validator();

interface Property {
  name: string;
  value: string;
}
interface Component {
  type: string;
  'bom-ref': string;
  name: string;
  version?: string;
  purl?: string;
  properties?: Property[];
}
interface Bom {
  metadata: { component: Component };
  components: Component[];
  dependencies: { ref: string; dependsOn: string[] }[];
  compositions?: { aggregate: string; assemblies: string[]; dependencies: string[] }[];
}
interface SpdxDoc {
  comment?: string;
  packages: { SPDXID: string; name: string; versionInfo?: string; primaryPackagePurpose: string; sourceInfo?: string; annotations?: { comment: string }[] }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

function sbom(path: string, ...extra: string[]): ReturnType<typeof runCli> {
  return runCli(['sbom', path, '--no-licenses', ...extra], { cacheDir });
}

function oneLine(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
  assert.equal(errors.length, 1, stderr);
  return errors[0] as string;
}

const inventoriesOf = (c: Component): string[] => (c.properties ?? []).filter((p) => p.name === 'stowage:inventory').map((p) => p.value);
const pathOf = (c: Component): string | undefined => c.properties?.find((p) => p.name === 'stowage:path')?.value;
const dependsOn = (bom: Bom, ref: string): string[] => bom.dependencies.find((d) => d.ref === ref)?.dependsOn ?? [];

test("Debian's own Rust application packages: the package and its binaries, X-Cargo-Built-Using and embedded paths named, partial said; schema-valid", { skip: whyNoTestDebs() }, () => {
  for (const deb of testDebs() ?? []) {
    const name = basename(deb);
    const refused = sbom(deb);
    assert.equal(refused.status, 2, `${name}: ${refused.stderr}`);
    assert.match(oneLine(refused.stderr), /no \.dep-v0 section, only embedded source paths: a partial inventory .*refused \(pass --allow-partial to describe (it|them), in an SBOM that says its inventory is incomplete\)/);
    assert.equal(refused.stdout, '');

    const made = sbom(deb, '--allow-partial');
    assert.equal(made.status, 0, `${name}: ${made.stderr}`);
    const bom = JSON.parse(made.stdout) as Bom;
    validateCycloneDx(bom);
    // The package as dpkg reads it names the application.
    const control = (field: string): string => execFileSync('dpkg-deb', ['-f', deb, field], { encoding: 'utf8' }).trim();
    const app = bom.metadata.component;
    assert.deepEqual([app.type, app.name, app.version], ['application', control('Package'), control('Version')], name);
    assert.deepEqual(inventoriesOf(app), ['X-Cargo-Built-Using'], name);

    // What stowage audit reads from the same file: the field's crates, and each binary's.
    const audited = runCli(['audit', deb, '--allow-partial', '--db', ADVISORY_DB_BUNDLE, '--format', 'json'], { cacheDir });
    assert.ok(audited.status === 0 || audited.status === 1, audited.stderr);
    const [fields, ...binaries] = auditReport(audited.stdout).targets;
    const fromField = bom.components.filter((c) => inventoriesOf(c).includes('X-Cargo-Built-Using'));
    // Every rust-* relation of the field is a crate (dpkg's reading), the package itself not a component.
    const crates = new Set(control('X-Cargo-Built-Using').split(',').map((r) => r.trim()).filter((r) => r.startsWith('rust-')));
    assert.equal(fromField.length, crates.size, name);
    assert.equal(fields?.packages, fromField.length + 1, name);

    // One application component per binary, at the path dpkg lists, holding what the audit read from it.
    const parts = bom.components.filter((c) => c.type === 'application');
    const listing = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    assert.deepEqual(parts.map((p) => `${deb}:${pathOf(p)}`).sort(), binaries.map((b) => b.path).sort(), name);
    for (const part of parts) {
      assert.ok(listing.includes(` ./${pathOf(part)}\n`), `${name}: ${pathOf(part)} is in the package`);
      assert.deepEqual(inventoriesOf(part), ['embedded paths']);
      assert.ok(dependsOn(bom, app['bom-ref']).includes(part['bom-ref']), 'the package holds the binary');
      const held = dependsOn(bom, part['bom-ref']);
      assert.equal(held.length, binaries.find((b) => b.path === `${deb}:${pathOf(part)}`)?.packages, `${name}: ${pathOf(part)}`);
      for (const ref of held) assert.ok(inventoriesOf(bom.components.find((c) => c['bom-ref'] === ref) as Component).includes('embedded paths'));
    }
    // Partial: the binaries' dependency lists and so the package's.
    assert.deepEqual(bom.compositions, [
      { aggregate: 'incomplete', assemblies: [app['bom-ref'], ...parts.map((p) => p['bom-ref'])].sort(), dependencies: [app['bom-ref'], ...parts.map((p) => p['bom-ref'])].sort() },
    ]);

    const spdxRun = sbom(deb, '--allow-partial', '--format', 'spdx');
    assert.equal(spdxRun.status, 0, spdxRun.stderr);
    const doc = JSON.parse(spdxRun.stdout) as SpdxDoc;
    validateSpdx(doc);
    assert.match(doc.comment ?? '', /^PARTIAL INVENTORY/);
    const described = doc.packages.find((p) => p.SPDXID === doc.relationships.find((r) => r.relationshipType === 'DESCRIBES')?.relatedSpdxElement);
    assert.deepEqual([described?.name, described?.versionInfo, described?.sourceInfo], [control('Package'), control('Version'), 'inventory: X-Cargo-Built-Using']);
    const contained = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS' && r.spdxElementId === described?.SPDXID).map((r) => r.relatedSpdxElement);
    assert.equal(contained.length, parts.length);
    for (const id of contained) {
      const part = doc.packages.find((p) => p.SPDXID === id);
      assert.equal(part?.primaryPackagePurpose, 'APPLICATION');
      assert.match(part?.annotations?.[0]?.comment ?? '', /^PARTIAL INVENTORY/);
    }
    assert.equal(doc.packages.length, bom.components.length + 1, 'the same packages in both formats');
  }
});

test("the SBOM (CycloneDX, SPDX) of a .deb audited again: a partial one refused, then the same findings as the package's own audit", { skip: whyNoTestDebs() }, () => {
  const deb = (testDebs() ?? [])[0] as string;
  const out = `${tempDir('sbom-shipped-again')}/package.cdx.json`;
  const made = sbom(deb, '--allow-partial', '-o', out);
  assert.equal(made.status, 0, made.stderr);
  const audit = (path: string, ...extra: string[]): ReturnType<typeof runCli> => runCli(['audit', path, '--db', ADVISORY_DB_BUNDLE, '--format', 'json', ...extra], { cacheDir });
  const refused = audit(out);
  assert.equal(refused.status, 2);
  assert.match(oneLine(refused.stderr), /package\.cdx\.json: the SBOM says its inventory is incomplete .*refused \(pass --allow-partial/);
  const again = audit(out, '--allow-partial');
  const direct = audit(deb, '--allow-partial');
  assert.equal(again.status, direct.status, again.stderr);
  const findings = (stdout: string): string[] => [...new Set(auditReport(stdout).findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`))].sort();
  assert.ok(findings(direct.stdout).length > 0, 'Debian built these with atty 0.2.14');
  assert.deepEqual(findings(again.stdout), findings(direct.stdout));
  assert.deepEqual(auditReport(again.stdout).targets.map((t) => t.partial), [true]);

  // The same from SPDX: partial said by the annotation, read back as partial.
  const spdxOut = `${tempDir('sbom-shipped-again')}/package.spdx.json`;
  assert.equal(sbom(deb, '--allow-partial', '--format', 'spdx', '-o', spdxOut).status, 0);
  assert.match(oneLine(audit(spdxOut).stderr), /package\.spdx\.json: the SBOM says its inventory is incomplete \(an annotation\)/);
  const fromSpdx = audit(spdxOut, '--allow-partial');
  assert.equal(fromSpdx.status, direct.status, fromSpdx.stderr);
  assert.deepEqual(findings(fromSpdx.stdout), findings(direct.stdout));
});

test('a binary RPM: the package is the application, its bundled provides and its binary each named; SPDX too', () => {
  const rpm = buildRpm({ provides: ['bundled(crate(atty)) = 0.2.14', 'bundled(crate(time)) = 0.3.9'], binary: realRustBinary(), payload: 'zstd' });
  const made = sbom(rpm, '--allow-partial');
  assert.equal(made.status, 0, made.stderr);
  const bom = JSON.parse(made.stdout) as Bom;
  validateCycloneDx(bom);
  const app = bom.metadata.component;
  assert.deepEqual([app.name, app.version, inventoriesOf(app)], ['shipped-demo', '1.0-1', ['bundled provides']]);
  const provided = bom.components.filter((c) => inventoriesOf(c).includes('bundled provides')).map((c) => c.purl);
  assert.deepEqual(provided, ['pkg:cargo/atty@0.2.14', 'pkg:cargo/time@0.3.9']);
  for (const purl of provided) assert.ok(dependsOn(bom, app['bom-ref']).includes(purl as string));
  const parts = bom.components.filter((c) => c.type === 'application');
  // The binary records no version of its own: it is the package's.
  assert.deepEqual(parts.map((p) => [p.name, p.version, pathOf(p), inventoriesOf(p)]), [['tool', '1.0-1', 'usr/bin/tool', ['embedded paths']]]);
  assert.deepEqual(bom.compositions?.[0]?.dependencies, [app['bom-ref'], parts[0]?.['bom-ref']].sort());

  const doc = JSON.parse(sbom(rpm, '--allow-partial', '--format', 'spdx').stdout) as SpdxDoc;
  validateSpdx(doc);
  assert.equal(doc.packages.find((p) => p.name === 'atty')?.sourceInfo, 'inventory: bundled provides');
});

test('an image archive: a container holding a binary and a node_modules root, edges as installed; reproducible', async () => {
  const archive = await dockerSaveArchive(await installedLayers(), 'demo:1');
  const made = sbom(archive, '--allow-partial');
  assert.equal(made.status, 0, made.stderr);
  const bom = JSON.parse(made.stdout) as Bom;
  validateCycloneDx(bom);
  const app = bom.metadata.component;
  assert.deepEqual([app.type, app.name, app.version], ['container', 'demo', '1']);
  const parts = bom.components.filter((c) => c.type === 'application');
  assert.deepEqual(parts.map((p) => [p.name, p.version, pathOf(p), inventoriesOf(p)]), [
    ['app', '1.0.0', 'app/node_modules', ['package.json']],
    ['tool', undefined, 'usr/bin/tool', ['embedded paths']],
  ]);
  assert.deepEqual(dependsOn(bom, app['bom-ref']), parts.map((p) => p['bom-ref']));
  // As installed: the application needs left-pad and @scope/x, which needs its own minimist; `old` is whited out.
  const npm = parts[0]?.['bom-ref'] as string;
  assert.deepEqual(dependsOn(bom, npm), ['pkg:npm/%40scope/x@2.0.0', 'pkg:npm/left-pad@1.1.0']);
  assert.deepEqual(dependsOn(bom, 'pkg:npm/%40scope/x@2.0.0'), ['pkg:npm/minimist@0.0.8']);
  // Only the binary's inventory is partial, so only it and the image are incomplete.
  assert.deepEqual(bom.compositions?.[0]?.dependencies, [app['bom-ref'], parts[1]?.['bom-ref']].sort());
  // The same archive elsewhere gives the same document: nothing names where it lay.
  const moved = await dockerSaveArchive(await installedLayers(), 'demo:1');
  assert.notEqual(moved, archive);
  assert.equal(sbom(moved, '--allow-partial').stdout, made.stdout);

  const doc = JSON.parse(sbom(archive, '--allow-partial', '--format', 'spdx').stdout) as SpdxDoc;
  validateSpdx(doc);
  assert.equal(doc.packages.find((p) => p.name === 'demo')?.primaryPackagePurpose, 'CONTAINER');

  // Audited again from its SBOM: the same npm findings as the image's own audit, with their paths from the application.
  const saved = `${tempDir('sbom-shipped-image')}/image.cdx.json`;
  writeFileSync(saved, made.stdout);
  const audit = (path: string): ReturnType<typeof runCli> => runCli(['audit', path, '--db', ADVISORY_DB_BUNDLE, '--db', GHSA_NPM, '--format', 'json', '--allow-partial'], { cacheDir });
  const again = audit(saved);
  assert.equal(again.status, 1, again.stderr);
  const npmFindings = (stdout: string): string[] =>
    auditReport(stdout)
      .findings.filter((f) => f.package.ecosystem === 'npm')
      .map((f) => `${f.advisory.id} ${JSON.stringify(f.paths)}`)
      .sort();
  assert.deepEqual(npmFindings(again.stdout), npmFindings(audit(archive).stdout));
  assert.equal(npmFindings(again.stdout).length, 2);
});

test('an installed tree without lockfiles: named by its directory, no version', () => {
  const root = `${tempDir('sbom-shipped-tree')}/srv`;
  mkdirSync(`${root}/node_modules/left-pad`, { recursive: true });
  writeFileSync(`${root}/node_modules/left-pad/package.json`, JSON.stringify({ name: 'left-pad', version: '1.1.0' }));
  const made = sbom(root);
  assert.equal(made.status, 0, made.stderr);
  const bom = JSON.parse(made.stdout) as Bom;
  validateCycloneDx(bom);
  assert.deepEqual([bom.metadata.component.name, bom.metadata.component.version], ['srv', undefined]);
  assert.equal(bom.compositions, undefined, 'nothing partial');
  const parts = bom.components.filter((c) => c.type === 'application');
  assert.deepEqual(parts.map((p) => pathOf(p)), ['node_modules']);
  assert.deepEqual(dependsOn(bom, parts[0]?.['bom-ref'] as string), ['pkg:npm/left-pad@1.1.0']);
  const licences = runCli(['sbom', root], { cacheDir });
  assert.equal(licences.status, 2);
  assert.match(oneLine(licences.stderr), /the licences of the crates and packages of an installed tree are not fetched .*pass --no-licenses/);
});

test('a .deb with only a binary (no X-Cargo-Built-Using): refused as sbom refuses it, then the binary at the package\'s version, read back so', () => {
  const deb = buildDeb({ name: 'rg-demo', version: '13.0.0-4', fields: {}, files: { 'usr/bin/rg': realRustBinary() }, compression: 'gzip' });
  // The refusal says what --allow-partial does for sbom, not for audit.
  const refused = sbom(deb);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(oneLine(refused.stderr), /refused \(pass --allow-partial to describe it, in an SBOM that says its inventory is incomplete\)$/);
  assert.doesNotMatch(refused.stderr, /to audit/);
  const out = `${tempDir('sbom-shipped-binary-only')}/rg.cdx.json`;
  const made = sbom(deb, '--allow-partial', '-o', out);
  assert.equal(made.status, 0, made.stderr);
  const bom = JSON.parse(readFileSync(out, 'utf8')) as Bom;
  validateCycloneDx(bom);
  const parts = bom.components.filter((c) => c.type === 'application');
  assert.deepEqual(parts.map((p) => [p.name, p.version, pathOf(p)]), [['rg', '13.0.0-4', 'usr/bin/rg']]);
  const spdxDoc = JSON.parse(sbom(deb, '--allow-partial', '--format', 'spdx').stdout) as SpdxDoc;
  validateSpdx(spdxDoc);
  assert.equal(spdxDoc.packages.find((p) => p.name === 'rg')?.versionInfo, '13.0.0-4');
  // Audited again from the SBOM: each path starts at the binary, at that version.
  const again = runCli(['audit', out, '--allow-partial', '--db', ADVISORY_DB_BUNDLE, '--format', 'json'], { cacheDir });
  assert.ok(again.status === 0 || again.status === 1, again.stderr);
  const starts = new Set(auditReport(again.stdout).findings.flatMap((f) => f.paths.map((path) => path[0])));
  assert.ok(starts.size > 0, 'findings with paths');
  assert.deepEqual([...starts], ['rg@13.0.0-4']);
});
