import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRustApp, registryConfigToml, rustAppCrates, type RustApp } from '../support/rust-app.js';
import { SparseRegistry } from '../support/sparse-registry.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { cycloneDx16Validator, readJsonSchema, schemaValidator, type JsonSchema } from '../support/json-schema.js';
import { FIXTURE_DATE } from '../support/advisory-fixtures.js';

/** `stowage sbom` on the Rust application of the vendoring tests, validated against the official schemas. */

let registry: SparseRegistry;
let app: RustApp;
const cacheDir = tempDir('sbom-cli-cache');

/** Asynchronous: the registry answers from this process. */
function sbom(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return runCliAsync(['sbom', app.dir, ...args], { cacheDir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
}

const readSchema = readJsonSchema;
const validator = (schema: JsonSchema, references: Record<string, JsonSchema> = {}): ((doc: unknown) => void) => schemaValidator(schema, { references });

before(async () => {
  registry = await SparseRegistry.start(rustAppCrates());
  app = await createRustApp(registry.indexUrl);
});

after(async () => {
  await registry.close();
});

interface Bom {
  metadata: { component: { name: string; version: string } };
  components: { name: string; version: string; purl?: string; licenses?: { expression: string }[] }[];
  vulnerabilities?: { id: string; analysis?: { state: string; detail?: string } }[];
}

test('CycloneDX 1.6: every locked crate with its licence from its own Cargo.toml, schema-valid, reproducible', async () => {
  const validate = cycloneDx16Validator();
  const out = join(tempDir('sbom-out'), 'app.cdx.json');
  const first = await sbom(['--format', 'cyclonedx', '-o', out, '--license', 'stowage-demo=MIT']);
  assert.equal(first.status, 0, first.stderr);
  const text = readFileSync(out, 'utf8');
  const bom = JSON.parse(text) as Bom;
  validate(bom);
  assert.equal(bom.metadata.component.name, 'stowage-demo');
  const itoa = bom.components.filter((c) => c.name === 'itoa').map((c) => c.version).sort();
  assert.deepEqual(itoa, ['0.4.8', '1.0.1']);
  assert.deepEqual(bom.components.find((c) => c.name === 'fnv')?.licenses, [{ expression: 'Apache-2.0 OR MIT' }]);
  assert.deepEqual(bom.components.find((c) => c.name === 'greeting')?.licenses, [{ expression: 'MIT' }]);

  const again = await sbom(['--format', 'cyclonedx', '--license', 'stowage-demo=MIT']);
  assert.equal(again.stdout, text, 'same inputs, same document (downloads from the cache)');

  const bare = await sbom(['--no-licenses']);
  assert.equal(bare.status, 0, bare.stderr);
  assert.equal((JSON.parse(bare.stdout) as Bom).components.find((c) => c.name === 'fnv')?.licenses, undefined);
});

test('SPDX 2.3: schema-valid, licences declared', async () => {
  const validate = validator(readSchema(join(PROJECT_ROOT, 'test', 'fixtures', 'schemas', 'spdx-schema-2.3.json')));
  const result = await sbom(['--format', 'spdx']);
  assert.equal(result.status, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as { packages: { name: string; licenseDeclared?: string }[] };
  validate(doc);
  assert.equal(doc.packages.find((p) => p.name === 'hex')?.licenseDeclared, 'MIT OR Apache-2.0');
});

test('--vex states the findings with the reason each was accepted; --vex with SPDX is refused', async () => {
  const db = tempDir('sbom-db');
  mkdirSync(join(db, 'crates', 'itoa'), { recursive: true });
  writeFileSync(
    join(db, 'crates', 'itoa', 'RUSTSEC-2099-0001.md'),
    `\`\`\`toml\n[advisory]\nid = "RUSTSEC-2099-0001"\npackage = "itoa"\ndate = "${FIXTURE_DATE}"\nurl = "https://example.invalid/itoa"\n\n[versions]\npatched = [">= 99.0.0"]\n\`\`\`\n\n# itoa writes out of bounds\n\nMade up.\n`,
  );
  const result = await sbom(['--vex', '--db', db, '--no-fetch', '--no-licenses', '--ignore', 'RUSTSEC-2099-0001=only trusted integers']);
  assert.equal(result.status, 0, result.stderr);
  const bom = JSON.parse(result.stdout) as Bom;
  const vulns = bom.vulnerabilities ?? [];
  assert.ok(vulns.length >= 1);
  assert.ok(vulns.every((v) => v.id === 'RUSTSEC-2099-0001'));
  assert.ok(vulns.some((v) => v.analysis?.detail?.includes('only trusted integers')), JSON.stringify(vulns));

  const refused = await sbom(['--vex', '--format', 'spdx', '--db', db, '--no-fetch']);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^stowage: --vex needs --format cyclonedx/);
});

test('a registry that cannot be reached: the error says how to make the SBOM without it (--no-licenses, --vendor)', async () => {
  // The application as a build machine without network has it: its registry does not answer.
  const offline = join(tempDir('sbom-offline'), 'app');
  cpSync(app.dir, offline, { recursive: true, filter: (src) => !src.startsWith(join(app.dir, 'target')) });
  writeFileSync(join(offline, '.cargo', 'config.toml'), registryConfigToml('http://127.0.0.1:9/index/'));
  const emptyCache = tempDir('sbom-offline-cache');
  const failed = await runCliAsync(['sbom', offline], { cacheDir: emptyCache });
  assert.equal(failed.status, 2);
  assert.equal(failed.stdout, '');
  assert.match(
    failed.stderr,
    /^stowage: registry `local-sparse`: cannot fetch http:\/\/127\.0\.0\.1:9\/index\/\S+: [^(]+ \(licences are read from the packages themselves: --no-licenses leaves them out, --vendor ARCHIVE reads them from a vendor archive, offline\)\n$/m,
  );
  const bare = await runCliAsync(['sbom', offline, '--no-licenses'], { cacheDir: emptyCache });
  assert.equal(bare.status, 0, bare.stderr);
});
