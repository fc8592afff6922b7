import { copyFileSync, mkdirSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cycloneDx16Validator } from '../support/json-schema.js';
import { runCli, tempDir } from '../support/shared.js';
import { realRustBinary } from '../support/shipped-artifacts.js';

interface Bom {
  metadata: { component: { 'bom-ref': string; name: string } };
  components: { type: string; 'bom-ref': string; name: string }[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

test('CycloneDX: an installed tree /opt/myapp holding the binary myapp: two components, the crates the binary\'s, not the tree\'s', () => {
  // Both were `application:myapp` before: one bom-ref for two components, and one dependencies
  // entry in which the tree itself seemed to depend on every crate of the binary.
  const root = `${tempDir('sbom-part-refs')}/myapp`;
  mkdirSync(root, { recursive: true });
  copyFileSync(realRustBinary(), `${root}/myapp`);
  const made = runCli(['sbom', root, '--no-licenses', '--allow-partial'], { cacheDir: tempDir('sbom-part-refs-cache') });
  assert.equal(made.status, 0, made.stderr);
  const bom = JSON.parse(made.stdout) as Bom;
  cycloneDx16Validator()(bom);
  const tree = bom.metadata.component['bom-ref'];
  const binary = bom.components.find((c) => c.type === 'application');
  assert.equal(binary?.name, 'myapp');
  const refs = [tree, ...bom.components.map((c) => c['bom-ref'])];
  assert.deepEqual(refs.filter((r, i) => refs.indexOf(r) !== i), [], 'every bom-ref is unique');
  assert.deepEqual(bom.dependencies.filter((d) => d.ref === tree).map((d) => d.dependsOn), [[binary?.['bom-ref']]], 'the tree holds the binary, nothing else');
  const crates = bom.dependencies.find((d) => d.ref === binary?.['bom-ref'])?.dependsOn ?? [];
  assert.ok(crates.length > 0 && crates.every((ref) => ref.startsWith('pkg:cargo/')), 'the binary holds the crates');
});
