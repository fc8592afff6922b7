import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCycloneDx } from '../../src/inputs/cyclonedx-reader.js';

test('readCycloneDx reads an SBOM of 200,000 components in one chain (no argument list of them all)', () => {
  const n = 200_000;
  const components = Array.from({ length: n }, (_, i) => ({ type: 'library', 'bom-ref': `r${i}`, name: `c${i}`, version: '1.0.0', purl: `pkg:cargo/c${i}@1.0.0` }));
  const dependencies = [{ ref: 'root', dependsOn: ['r0'] }, ...Array.from({ length: n - 1 }, (_, i) => ({ ref: `r${i}`, dependsOn: [`r${i + 1}`] }))];
  const doc = { bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { type: 'application', 'bom-ref': 'root', name: 'app', version: '1.0.0' } }, components, dependencies };
  const [graph] = readCycloneDx('chain.cdx.json', JSON.stringify(doc));
  assert.equal(graph?.packages.length, n + 1);
  assert.equal(graph?.edges.length, n);
});
