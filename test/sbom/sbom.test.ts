import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/advisories/database.js';
import { parseDatabaseSpec } from '../../src/advisories/source.js';
import { runAudit } from '../../src/audit/audit.js';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import { StowageError } from '../../src/core/errors.js';
import type { Finding } from '../../src/core/finding.js';
import type { DependencyGraph } from '../../src/core/graph.js';
import type { Package } from '../../src/core/package.js';
import { TOOL_VERSION } from '../../src/core/tool.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { cycloneDx, type CycloneDxBom } from '../../src/sbom/cyclonedx.js';
import { purlOf } from '../../src/core/purl.js';
import { sbomJson, type SbomInput } from '../../src/sbom/sbom.js';
import { spdx, type SpdxDocument } from '../../src/sbom/spdx.js';
import { CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, corpusFiles, tempDir } from '../support/shared.js';
import { readJsonSchema, schemaValidator, spdx23Validator, type JsonSchema } from '../support/json-schema.js';
import { packageLockTree } from '../support/second-reading.js';

// ---------------------------------------------------------------------------------------
// The official schemas: CycloneDX 1.6 as @cyclonedx/cyclonedx-library ships it, SPDX 2.3 from
// spdx/spdx-spec (test/fixtures/schemas/README.md says where it comes from). Both draft-07.

const CDX_SCHEMAS = join(dirname(createRequire(import.meta.url).resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
const readSchema = readJsonSchema;

function makeValidator(schema: JsonSchema, references: Record<string, JsonSchema> = {}) {
  const validate = schemaValidator(schema, { references });
  // Validate the JSON text as written, not the in-memory object.
  return (document: unknown): void => validate(JSON.parse(sbomJson(document as object)));
}

const validateCycloneDx = makeValidator(readSchema(join(CDX_SCHEMAS, 'bom-1.6.SNAPSHOT.schema.json')), {
  'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': readSchema(join(CDX_SCHEMAS, 'spdx.SNAPSHOT.schema.json')),
  'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': readSchema(join(CDX_SCHEMAS, 'jsf-0.82.SNAPSHOT.schema.json')),
});
const validateSpdxDocument = spdx23Validator();

/** The schema, plus the rules of the SPDX 2.3 specification its JSON schema does not encode; on the JSON text as written. */
function validateSpdx(doc: SpdxDocument): void {
  validateSpdxDocument(JSON.parse(sbomJson(doc)));
}

// ---------------------------------------------------------------------------------------

async function graphOf(path: string): Promise<DependencyGraph> {
  const [location] = findLockfiles(path);
  assert.ok(location);
  return readDependencyGraph(location);
}

/** Licence shapes that real crates and npm packages declare, spread over the graph by position. */
function syntheticLicenses(graphs: DependencyGraph[]): Map<string, string | null> {
  const shapes = ['MIT OR Apache-2.0', 'Unlicense OR MIT', '(MIT OR Apache-2.0) AND Unicode-DFS-2016', 'Apache-2.0 WITH LLVM-exception', 'ISC', null, 'LicenseRef-Proprietary'];
  const map = new Map<string, string | null>();
  for (const graph of graphs) graph.packages.forEach((p, i) => map.set(p.id, shapes[i % shapes.length] ?? null));
  return map;
}

function input(graphs: DependencyGraph[], overrides: Partial<SbomInput> = {}): SbomInput {
  return {
    application: { name: 'ripgrep', version: '15.2.0', license: 'Unlicense OR MIT', ecosystem: graphs[0]?.ecosystem ?? 'cargo' },
    graphs,
    licenses: syntheticLicenses(graphs),
    sourceDateEpoch: 1_756_684_800, // 2025-09-01T00:00:00Z
    ...overrides,
  };
}

/** The edges an SBOM must state: roots are the application, npm aliases one component, no self edges. */
function expectedEdges(graphs: DependencyGraph[]): Set<string> {
  const edges = new Set<string>();
  for (const graph of graphs) {
    const roots = new Set(graph.roots);
    const byId = new Map(graph.packages.map((p) => [p.id, p]));
    // A package without a purl is named `ECOSYSTEM:SOURCE-KIND:ID`, as the README documents.
    const ref = (id: string): string => {
      const p = byId.get(id) as Package;
      return roots.has(id) ? 'APP' : (purlOf(p) ?? `${p.ecosystem}:${p.source.kind}:${id}`);
    };
    for (const e of graph.edges) if (ref(e.from) !== ref(e.to)) edges.add(`${ref(e.from)} -> ${ref(e.to)}`);
  }
  return edges;
}

/** The edges a CycloneDX BOM states, as `from -> to` with the application as APP. */
function bomEdges(bom: CycloneDxBom): Set<string> {
  const app = bom.metadata.component['bom-ref'];
  const name = (ref: string): string => (ref === app ? 'APP' : ref);
  return new Set(bom.dependencies.flatMap((d) => d.dependsOn.map((to) => `${name(d.ref)} -> ${name(to)}`)));
}

/** The DEPENDS_ON relationships of an SPDX document, by purl, the described package as APP. */
function spdxEdges(doc: SpdxDocument): Set<string> {
  const described = doc.relationships.find((r) => r.relationshipType === 'DESCRIBES')?.relatedSpdxElement;
  const purl = new Map(doc.packages.map((p) => [p.SPDXID, p.SPDXID === described ? 'APP' : (p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator ?? p.SPDXID)]));
  return new Set(doc.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON').map((r) => `${purl.get(r.spdxElementId)} -> ${purl.get(r.relatedSpdxElement)}`));
}

/**
 * The edges of a Cargo.lock read independently of stowage: a TOML library, and Cargo's
 * `dependencies` entries (`name`, `name version`, `name version (source)`); crates.io crates as
 * purls by the purl-spec cargo rule, workspace members (no source) as the application.
 */
function cargoLockEdges(path: string): Set<string> {
  const lock = parseToml(readFileSync(path, 'utf8')) as { package: { name: string; version: string; source?: string; dependencies?: string[] }[] };
  const refOf = (p: { name: string; version: string; source?: string }): string => (p.source === undefined ? 'APP' : `pkg:cargo/${p.name}@${encodeURIComponent(p.version)}`);
  const find = (dep: string): { name: string; version: string; source?: string } => {
    const [name, version] = dep.split(' ');
    const found = lock.package.filter((p) => p.name === name && (version === undefined || p.version === version));
    assert.equal(found.length, 1, `${path}: ${dep}`);
    return found[0] as { name: string; version: string };
  };
  const edges = new Set<string>();
  for (const p of lock.package) for (const dep of p.dependencies ?? []) if (refOf(p) !== refOf(find(dep))) edges.add(`${refOf(p)} -> ${refOf(find(dep))}`);
  return edges;
}

/** The edges of a package-lock v2/v3, read a second way (test/support/second-reading.ts), as purls. */
function packageLockEdges(path: string): Set<string> {
  const lock = packageLockTree(path);
  const refOf = (key: string): string => {
    if (key === '') return 'APP';
    const e = lock.entries[key] ?? {};
    const name = lock.nameOf(key);
    const purlName = name.startsWith('@') ? `%40${name.slice(1)}` : name;
    // A registry tarball is `<registry>/<name>/-/<base>-<version>.tgz`, whatever the host (the corpus names registry.invalid).
    const outside = e.resolved !== undefined && !e.resolved.includes(`/${name}/-/`);
    return `pkg:npm/${purlName}@${e.version}${outside ? `?download_url=${e.resolved}` : ''}`;
  };
  const edges = new Set<string>();
  for (const [from, to] of lock.edges) if (refOf(from) !== refOf(to)) edges.add(`${refOf(from)} -> ${refOf(to)}`);
  return edges;
}

const RIPGREP = join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.lock');
const JELLYFIN = join(NPM_CORPUS, 'jellyfin-web-2026-08-22.package-lock.json');

test('ripgrep (Cargo.lock v4): a valid CycloneDX 1.6 BOM naming every crate with its purl, sha256 and licence', async () => {
  const graph = await graphOf(RIPGREP);
  const bom = cycloneDx(input([graph]));
  validateCycloneDx(bom);

  assert.equal(bom.specVersion, '1.6');
  assert.equal(bom.metadata.timestamp, '2025-09-01T00:00:00Z');
  assert.deepEqual(bom.metadata.tools.components, [{ type: 'application', name: 'stowage', version: TOOL_VERSION }]);
  assert.deepEqual(bom.metadata.component.licenses, [{ expression: 'Unlicense OR MIT' }]);
  assert.equal(bom.metadata.component.type, 'application');

  // 62 packages, 11 of them the workspace (ripgrep and its grep-* crates): 51 bundled crates.
  const roots = new Set(graph.roots);
  const crates = graph.packages.filter((p) => !roots.has(p.id));
  assert.equal(crates.length, 51);
  assert.equal(bom.components.length, 51);
  const byPurl = new Map(bom.components.map((c) => [c.purl, c]));
  const licenses = syntheticLicenses([graph]);
  for (const p of crates) {
    const c = byPurl.get(`pkg:cargo/${p.name}@${p.version.replace('+', '%2B')}`);
    assert.ok(c, `${p.id} is a component`);
    assert.equal(c['bom-ref'], c.purl);
    assert.equal(c.type, 'library');
    assert.deepEqual(c.hashes, [{ alg: 'SHA-256', content: p.checksum }]);
    const license = licenses.get(p.id);
    assert.deepEqual(c.licenses, license ? [{ expression: license }] : undefined);
    assert.deepEqual(c.externalReferences, [{ type: 'distribution', url: `https://crates.io/api/v1/crates/${p.name}/${p.version}/download` }]);
  }
  for (const id of roots) assert.ok(!bom.components.some((c) => c.name === id.split('@')[0]), `workspace member ${id} is the application, not a component`);
  assert.ok(byPurl.has('pkg:cargo/tikv-jemalloc-sys@0.7.1%2B5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8'));

  // Every component is in the dependency graph, the application first.
  assert.equal(bom.dependencies.length, 52);
  assert.equal(bom.dependencies[0]?.ref, bom.metadata.component['bom-ref']);
  const deps = new Map(bom.dependencies.map((d) => [d.ref, d.dependsOn]));
  assert.ok(deps.get(bom.metadata.component['bom-ref'])?.some((r) => r.startsWith('pkg:cargo/anyhow@')), 'ripgrep depends on anyhow');
  assert.deepEqual(deps.get('pkg:cargo/aho-corasick@1.1.4'), ['pkg:cargo/memchr@2.8.3']);
  // 142 lockfile edges; those between workspace members are inside the application.
  assert.deepEqual(bomEdges(bom), cargoLockEdges(RIPGREP));
  assert.equal(bomEdges(bom).size, 92);
});

test('ripgrep: a valid SPDX 2.3 document with a package per crate and DEPENDS_ON per edge', async () => {
  const graph = await graphOf(RIPGREP);
  const doc = spdx(input([graph]));
  validateSpdx(doc);

  assert.equal(doc.creationInfo.created, '2025-09-01T00:00:00Z');
  assert.deepEqual(doc.creationInfo.creators, [`Tool: stowage-${TOOL_VERSION}`]);
  assert.equal(doc.packages.length, 52);
  const app = doc.packages[0];
  assert.equal(app?.primaryPackagePurpose, 'APPLICATION');
  assert.equal(app?.licenseDeclared, 'Unlicense OR MIT');
  assert.deepEqual(doc.relationships[0], { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: app?.SPDXID });
  const dependsOn = doc.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON');
  assert.deepEqual(spdxEdges(doc), cargoLockEdges(RIPGREP));
  assert.equal(dependsOn.length, 92);

  const memchr = doc.packages.find((p) => p.name === 'memchr');
  assert.deepEqual(memchr?.externalRefs, [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:cargo/memchr@2.8.3' }]);
  assert.equal(memchr?.downloadLocation, 'https://crates.io/api/v1/crates/memchr/2.8.3/download');
  assert.deepEqual(memchr?.checksums, [{ algorithm: 'SHA256', checksumValue: graph.packages.find((p) => p.name === 'memchr')?.checksum }]);
  assert.equal(memchr?.licenseConcluded, 'NOASSERTION');
  const aho = doc.packages.find((p) => p.name === 'aho-corasick');
  assert.ok(doc.relationships.some((r) => r.spdxElementId === aho?.SPDXID && r.relatedSpdxElement === memchr?.SPDXID && r.relationshipType === 'DEPENDS_ON'));

  // Unknown licences are NOASSERTION; LicenseRef- licences are defined in the document.
  assert.ok(doc.packages.some((p) => p.licenseDeclared === 'NOASSERTION'));
  assert.deepEqual(doc.hasExtractedLicensingInfos?.map((l) => l.licenseId), ['LicenseRef-Proprietary']);
});

test('jellyfin-web (package-lock v3): scoped purls, SRI hashes as hex, aliases as one component, dev scope', async () => {
  const graph = await graphOf(JELLYFIN);
  const sbomInput = input([graph], { application: { name: 'jellyfin-web', version: '12.0.0', license: 'GPL-2.0-or-later', ecosystem: 'npm' } });
  const bom = cycloneDx(sbomInput);
  validateCycloneDx(bom);
  const doc = spdx(sbomInput);
  validateSpdx(doc);

  const roots = new Set(graph.roots);
  const purls = new Set(graph.packages.filter((p) => !roots.has(p.id)).map((p) => purlOf(p)));
  assert.equal(bom.components.length, purls.size);
  // string-width-cjs is string-width under another name: one component.
  assert.ok(graph.packages.some((p) => p.alias === 'string-width-cjs'));
  assert.equal(bom.components.filter((c) => c.purl === 'pkg:npm/string-width@4.2.3').length, 1);
  assert.equal(doc.packages.length, purls.size + 1);

  const samePurl = new Map<string | null, typeof graph.packages>();
  for (const p of graph.packages) samePurl.set(purlOf(p), [...(samePurl.get(purlOf(p)) ?? []), p]);
  for (const p of graph.packages.filter((p) => !roots.has(p.id) && p.source.kind === 'registry')) {
    const c = bom.components.find((x) => x.purl === purlOf(p));
    assert.ok(c, p.id);
    if (p.name.startsWith('@')) assert.ok(c.purl?.startsWith(`pkg:npm/%40${p.name.slice(1).split('/')[0]}/`), c.purl);
    const [algorithm, base64] = (p.checksum ?? '').split('-', 2);
    const hex = Buffer.from(p.checksum?.slice((algorithm?.length ?? 0) + 1) ?? '', 'base64').toString('hex');
    assert.ok(base64);
    assert.deepEqual(c.hashes, [{ alg: algorithm === 'sha512' ? 'SHA-512' : 'SHA-1', content: hex }], p.id);
    // dev / optional only when every lockfile entry of the package is (aliases are entries of their own).
    const entries = samePurl.get(purlOf(p)) ?? [];
    const scope = entries.every((e) => e.flags?.dev) ? 'excluded' : entries.every((e) => e.flags?.optional) ? 'optional' : undefined;
    assert.equal(c.scope, scope, p.id);
  }
  const babel = bom.components.find((c) => c.name === '@babel/core');
  assert.match(babel?.purl ?? '', /^pkg:npm\/%40babel\/core@\d+\.\d+\.\d+$/);
  assert.match(babel?.externalReferences?.[0]?.url ?? '', /^https:\/\/registry\.npmjs\.org\/@babel\/core\/-\/core-\d+\.\d+\.\d+\.tgz$/);

  // A tarball fetched from GitHub: named by its download URL.
  const classlist = bom.components.find((c) => c.name === 'classlist.js');
  assert.equal(classlist?.purl, 'pkg:npm/classlist.js@1.2.20180112?download_url=https://github.com/eligrey/classList.js/archive/1.2.20180112.tar.gz');
  assert.deepEqual(classlist?.externalReferences, [{ type: 'distribution', url: 'https://github.com/eligrey/classList.js/archive/1.2.20180112.tar.gz' }]);

  const lockEdges = packageLockEdges(JELLYFIN);
  assert.deepEqual(bomEdges(bom), lockEdges);
  assert.deepEqual(spdxEdges(doc), lockEdges);
  const devEdge = doc.relationships.find((r) => r.comment === 'dev dependency');
  assert.ok(devEdge, 'an edge that is dev-only says so');
});

test('the same input gives byte-identical documents, whatever the lockfile order; the epoch sets the time', async () => {
  const graph = await graphOf(RIPGREP);
  const npm = await graphOf(JELLYFIN);
  const shuffled: DependencyGraph = { ...graph, packages: [...graph.packages].reverse(), edges: [...graph.edges].reverse() };
  const shuffledNpm: DependencyGraph = { ...npm, packages: [...npm.packages].reverse(), edges: [...npm.edges].reverse() };
  const licenses = syntheticLicenses([graph, npm]);

  const first = input([graph, npm], { licenses });
  const cdx = sbomJson(cycloneDx(first));
  const doc = sbomJson(spdx(first));
  assert.equal(sbomJson(cycloneDx(input([shuffled, shuffledNpm], { licenses }))), cdx);
  assert.equal(sbomJson(spdx(input([shuffled, shuffledNpm], { licenses }))), doc);

  // An application of two lockfiles is one valid document holding both.
  const both = cycloneDx(first);
  validateCycloneDx(both);
  validateSpdx(spdx(first));
  assert.deepEqual(bomEdges(both), new Set([...cargoLockEdges(RIPGREP), ...packageLockEdges(JELLYFIN)]));
  assert.ok(both.components.some((c) => c.purl?.startsWith('pkg:cargo/')) && both.components.some((c) => c.purl?.startsWith('pkg:npm/')));

  const later = input([graph, npm], { licenses, sourceDateEpoch: 1_756_684_801 });
  const laterBom = cycloneDx(later);
  const laterDoc = spdx(later);
  assert.equal(laterBom.metadata.timestamp, '2025-09-01T00:00:01Z');
  assert.notEqual(laterBom.serialNumber, both.serialNumber, 'the serial number follows the content');
  assert.notEqual(laterDoc.documentNamespace, spdx(first).documentNamespace, 'so does the document namespace');
  assert.match(both.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('every lockfile format of the corpus (Cargo.lock v1-v4, package-lock, yarn v1 and berry, pnpm) gives valid documents', async () => {
  const files = [
    ...corpusFiles(CARGO_CORPUS, '.Cargo.lock'),
    ...corpusFiles(NPM_CORPUS, '.package-lock.json'),
    ...corpusFiles(NPM_CORPUS, '.yarn.lock'),
    ...corpusFiles(NPM_CORPUS, '.pnpm-lock.yaml'),
  ];
  // The newest lockfile of each format: validating all ~80 would take a while and add nothing.
  const byFormat = new Map<string, DependencyGraph>();
  for (const file of files) {
    const graph = await graphOf(file);
    byFormat.set(graph.format, graph);
  }
  assert.ok(byFormat.size >= 10, [...byFormat.keys()].join(', '));
  for (const [format, graph] of byFormat) {
    const sbomInput = input([graph], { application: { name: 'app', version: '1.0.0', license: 'MIT', ecosystem: graph.ecosystem } });
    const bom = cycloneDx(sbomInput);
    validateCycloneDx(bom);
    validateSpdx(spdx(sbomInput));
    // Read independently where a second reading is short (Cargo.lock, package-lock v2/v3); the graph's own edges otherwise.
    const independent = graph.format.startsWith('Cargo.lock') ? cargoLockEdges(graph.path) : /^package-lock\.json v[23]/.test(graph.format) ? packageLockEdges(graph.path) : expectedEdges([graph]);
    assert.deepEqual(bomEdges(bom), independent, graph.path);
    if (format.startsWith('yarn.lock berry')) {
      // berry's checksum hashes yarn's own zip, not the package: it must not pose as the package's hash.
      assert.ok(bom.components.every((c) => c.hashes === undefined), `${graph.path}: no berry checksum claimed as a hash`);
    }
  }
});

test('VEX: findings of a real audit validate, ignored ones carry their reason as an accepted risk', async () => {
  const graph = await graphOf(join(NPM_CORPUS, 'jellyfin-web-2021-11-01.package-lock.json'));
  const db = await openDatabase(parseDatabaseSpec(GHSA_NPM), { cacheRoot: tempDir('sbom-vex'), fetch: 'auto' });
  const reason = 'babel runs only at build time on our own sources';
  const audit = await runAudit({
    graphs: [graph],
    databases: [db],
    policy: { ...DEFAULT_POLICY, ignores: [{ id: 'CVE-2023-45133', reason, expires: '2027-01-31', origin: 'stowage.toml' }] },
    now: new Date('2026-09-01T00:00:00Z'),
  });
  db.index.close();
  const vulnerabilities = audit.findings.filter((f) => f.advisory.kind === 'vulnerability');
  assert.ok(vulnerabilities.length > 10, `${vulnerabilities.length} vulnerabilities`);

  const bom = cycloneDx(input([graph], { vulnerabilities: audit.findings }));
  validateCycloneDx(bom);
  const vex = bom.vulnerabilities ?? [];
  assert.equal(vex.length, new Set(vulnerabilities.map((f) => f.advisory.id)).size, 'one entry per advisory');
  const refs = new Set(bom.components.map((c) => c['bom-ref']));
  for (const v of vex) for (const a of v.affects) assert.ok(refs.has(a.ref), `${v.id} affects ${a.ref}, a component`);
  assert.equal(
    vex.reduce((n, v) => n + v.affects.length, 0),
    new Set(vulnerabilities.map((f) => `${f.advisory.id} ${purlOf(f.package)}`)).size,
    'every affected package is listed',
  );

  const babel = vex.find((v) => v.id === 'GHSA-67hx-6x53-jw92');
  assert.ok(babel);
  assert.deepEqual(babel.analysis, {
    state: 'exploitable',
    response: ['will_not_fix'],
    detail: `Accepted risk (ignore rule for CVE-2023-45133 in stowage.toml, expires 2027-01-31): ${reason}`,
  });
  assert.deepEqual(
    babel.affects.map((a) => a.ref),
    ['pkg:npm/%40babel/traverse@7.14.5', 'pkg:npm/%40babel/traverse@7.15.0', 'pkg:npm/%40babel/traverse@7.15.4'],
  );
  assert.deepEqual(babel.references, [{ id: 'CVE-2023-45133', source: { name: 'NVD', url: 'https://nvd.nist.gov/vuln/detail/CVE-2023-45133' } }]);
  assert.deepEqual(babel.source, { name: 'GitHub Advisory Database', url: 'https://github.com/advisories/GHSA-67hx-6x53-jw92' });
  assert.deepEqual(babel.ratings, [
    { source: babel.source, score: 9.3, severity: 'critical', method: 'CVSSv31', vector: 'CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H' },
  ]);

  const open = vex.filter((v) => v.id !== 'GHSA-67hx-6x53-jw92');
  assert.ok(open.every((v) => v.analysis.state === 'in_triage' && v.analysis.response === undefined));
  const bodyParser = vex.find((v) => v.id === 'GHSA-qwcr-r2fm-qrc7');
  assert.equal(bodyParser?.ratings?.[0]?.method, 'CVSSv4');
  const xmldom = vex.find((v) => v.id === 'GHSA-crh6-fp67-6883');
  assert.deepEqual(xmldom?.ratings, [{ source: xmldom?.source, severity: 'critical' }], 'a rating from the database label alone');

  // Without --vex nothing is said about vulnerabilities.
  assert.equal(cycloneDx(input([graph])).vulnerabilities, undefined);
});

test('bad input is refused with a message, not a crash', async () => {
  const graph = await graphOf(RIPGREP);
  for (const epoch of [-1, 1.5, Number.NaN, 1e13]) {
    assert.throws(() => cycloneDx(input([graph], { sourceDateEpoch: epoch })), (err: unknown) => err instanceof StowageError && /SOURCE_DATE_EPOCH/.test(err.message));
  }
  const stranger = graph.packages[0];
  assert.ok(stranger);
  const finding = {
    target: 'elsewhere/Cargo.lock',
    package: { ...stranger, id: 'not-here@1.0.0', name: 'not-here', version: '1.0.0' },
    advisory: { id: 'RUSTSEC-2099-0001', kind: 'vulnerability' },
  } as unknown as Finding;
  assert.throws(() => cycloneDx(input([graph], { vulnerabilities: [finding] })), (err: unknown) => err instanceof StowageError && /not-here@1\.0\.0/.test(err.message));
  const broken: DependencyGraph = { ...graph, edges: [...graph.edges, { from: 'ripgrep@15.2.0', to: 'ghost@0.0.0', kind: 'normal' }] };
  assert.throws(() => spdx(input([broken])), (err: unknown) => err instanceof StowageError && /ghost@0\.0\.0/.test(err.message));
  assert.throws(() => spdx(input([graph], { application: { name: 'x', version: '1', license: 'BSD', ecosystem: 'cargo' } })), StowageError);
});
