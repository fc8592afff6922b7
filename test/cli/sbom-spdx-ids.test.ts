import { mkdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spdx23Validator } from '../support/json-schema.js';
import { runCli, tempDir } from '../support/shared.js';

interface SpdxDoc {
  packages: { SPDXID: string; name: string }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

test('SPDX: two applications whose paths differ only in "_" and "-" get two ids, each with its own packages', () => {
  // An installed tree holding app_one/ and app-one/: both turned into SPDXRef-Part-app-one-node-modules
  // before, one id for two packages, each then seeming to depend on the other's packages.
  const root = `${tempDir('sbom-spdx-ids')}/srv`;
  const install = (dir: string, dep: string, version: string): void => {
    mkdirSync(`${root}/${dir}/node_modules/${dep}`, { recursive: true });
    writeFileSync(`${root}/${dir}/package.json`, JSON.stringify({ name: dir, version: '1.0.0', dependencies: { [dep]: version } }));
    writeFileSync(`${root}/${dir}/node_modules/${dep}/package.json`, JSON.stringify({ name: dep, version }));
  };
  install('app_one', 'left-pad', '1.3.0');
  install('app-one', 'is-odd', '3.0.1');
  const made = runCli(['sbom', root, '--no-licenses', '--format', 'spdx'], { cacheDir: tempDir('sbom-spdx-ids-cache') });
  assert.equal(made.status, 0, made.stderr);
  const doc = JSON.parse(made.stdout) as SpdxDoc;
  spdx23Validator()(doc);
  const ids = doc.packages.map((p) => p.SPDXID);
  assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'every SPDXID is unique');
  const nameOf = new Map(doc.packages.map((p) => [p.SPDXID, p.name]));
  const dependencies = (name: string): (string | undefined)[] => {
    const id = doc.packages.find((p) => p.name === name)?.SPDXID;
    return doc.relationships.filter((r) => r.relationshipType === 'DEPENDS_ON' && r.spdxElementId === id).map((r) => nameOf.get(r.relatedSpdxElement));
  };
  assert.deepEqual(dependencies('app_one'), ['left-pad']);
  assert.deepEqual(dependencies('app-one'), ['is-odd']);
  const described = doc.packages[0]?.SPDXID;
  const contained = doc.relationships.filter((r) => r.relationshipType === 'CONTAINS' && r.spdxElementId === described).map((r) => nameOf.get(r.relatedSpdxElement));
  assert.deepEqual(contained.sort(), ['app-one', 'app_one']);
});
