import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DependencyGraph } from '../../src/core/graph.js';
import { readCycloneDx } from '../../src/inputs/cyclonedx-reader.js';
import { readSpdx } from '../../src/inputs/spdx-reader.js';

test('readCycloneDx reads an SBOM of 200,000 components in one chain (no argument list of them all)', () => {
  const n = 200_000;
  const components = Array.from({ length: n }, (_, i) => ({ type: 'library', 'bom-ref': `r${i}`, name: `c${i}`, version: '1.0.0', purl: `pkg:cargo/c${i}@1.0.0` }));
  const dependencies = [{ ref: 'root', dependsOn: ['r0'] }, ...Array.from({ length: n - 1 }, (_, i) => ({ ref: `r${i}`, dependsOn: [`r${i + 1}`] }))];
  const doc = { bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { type: 'application', 'bom-ref': 'root', name: 'app', version: '1.0.0' } }, components, dependencies };
  const [graph] = readCycloneDx('chain.cdx.json', JSON.stringify(doc));
  assert.equal(graph?.packages.length, n + 1);
  assert.equal(graph?.edges.length, n);
});

const SMALLVEC = 'pkg:cargo/smallvec@1.6.0';
const HEX = 'pkg:cargo/hex@0.4.3';
const CRATES_IO = 'https://github.com/rust-lang/crates.io-index';

/** Each package of a graph as [id, name@version, source url], then its roots and edges. */
function shape(graph: DependencyGraph | undefined): unknown {
  assert.ok(graph);
  return { packages: graph.packages.map((p) => [p.id, `${p.name}@${p.version}`, p.source.kind, p.source.url]), roots: graph.roots, edges: graph.edges.map((e) => [e.from, e.to]) };
}

test('an application whose purl names a crate (an SBOM of a crate installed from crates.io) is that crate, audited: CycloneDX and SPDX', () => {
  // As cargo-cyclonedx and others describe a crate: it is metadata.component, not a component.
  const cdx = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { type: 'application', 'bom-ref': SMALLVEC, name: 'smallvec', version: '1.6.0', purl: SMALLVEC } },
    components: [{ type: 'library', 'bom-ref': HEX, name: 'hex', version: '0.4.3', purl: HEX }],
    dependencies: [{ ref: SMALLVEC, dependsOn: [HEX] }],
  };
  const expected = { packages: [[SMALLVEC, 'smallvec@1.6.0', 'registry', CRATES_IO], [HEX, 'hex@0.4.3', 'registry', CRATES_IO]], roots: [SMALLVEC], edges: [[SMALLVEC, HEX]] };
  assert.deepEqual(readCycloneDx('app.cdx.json', JSON.stringify(cdx)).map(shape), [expected]);
  // Without a bom-ref, its purl stands for it.
  const { 'bom-ref': _ref, ...unreferenced } = cdx.metadata.component;
  const alone = readCycloneDx('alone.cdx.json', JSON.stringify({ ...cdx, metadata: { component: unreferenced }, components: [], dependencies: [] }));
  assert.deepEqual(alone.map(shape), [{ packages: [[SMALLVEC, 'smallvec@1.6.0', 'registry', CRATES_IO]], roots: [SMALLVEC], edges: [] }]);
  const spdx = {
    spdxVersion: 'SPDX-2.3',
    SPDXID: 'SPDXRef-DOCUMENT',
    documentDescribes: ['SPDXRef-smallvec'],
    packages: [
      { SPDXID: 'SPDXRef-smallvec', name: 'smallvec', versionInfo: '1.6.0', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: SMALLVEC }] },
      { SPDXID: 'SPDXRef-hex', name: 'hex', versionInfo: '0.4.3', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: HEX }] },
    ],
    relationships: [{ spdxElementId: 'SPDXRef-smallvec', relationshipType: 'DEPENDS_ON', relatedSpdxElement: 'SPDXRef-hex' }],
  };
  const [graph] = readSpdx('app.spdx.json', JSON.stringify(spdx));
  assert.deepEqual(shape(graph), {
    packages: [['SPDXRef-smallvec', 'smallvec@1.6.0', 'registry', CRATES_IO], ['SPDXRef-hex', 'hex@0.4.3', 'registry', CRATES_IO]],
    roots: ['SPDXRef-smallvec'],
    edges: [['SPDXRef-smallvec', 'SPDXRef-hex']],
  });
});

test("an application without a purl whose one dependency is a package of its name and version is that package (stowage's SBOM of an installed binary)", () => {
  const cdx = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: { component: { type: 'application', 'bom-ref': 'application:hex@0.4.3', name: 'hex', version: '0.4.3' } },
    components: [
      { type: 'library', 'bom-ref': HEX, name: 'hex', version: '0.4.3', purl: HEX },
      { type: 'library', 'bom-ref': SMALLVEC, name: 'smallvec', version: '1.6.0', purl: SMALLVEC },
    ],
    dependencies: [
      { ref: 'application:hex@0.4.3', dependsOn: [HEX] },
      { ref: HEX, dependsOn: [SMALLVEC] },
    ],
  };
  assert.deepEqual(readCycloneDx('hex.cdx.json', JSON.stringify(cdx)).map(shape), [
    { packages: [[HEX, 'hex@0.4.3', 'registry', CRATES_IO], [SMALLVEC, 'smallvec@1.6.0', 'registry', CRATES_IO]], roots: [HEX], edges: [[HEX, SMALLVEC]] },
  ]);
  // An application that depends on more than that crate stays an application of its own.
  const more = { ...cdx, dependencies: [{ ref: 'application:hex@0.4.3', dependsOn: [HEX, SMALLVEC] }] };
  assert.deepEqual((shape(readCycloneDx('more.cdx.json', JSON.stringify(more))[0]) as { roots: string[] }).roots, ['application:hex@0.4.3']);
});
