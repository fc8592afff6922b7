import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CycloneDxBom } from '../../src/sbom/cyclonedx.js';
import { normalizeLicense } from '../../src/sbom/licenses.js';
import type { SpdxDocument } from '../../src/sbom/spdx.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { cycloneDx16Validator, spdx23Validator } from '../support/json-schema.js';
import { advisoryDbCheckout, CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `fleet export` states the licences the revision's own documents state: each package's
 * `license` in an npm package-lock (v2+), the application's in its manifest, the components' of
 * an SBOM added to the fleet; NOASSERTION (SPDX) or no licence (CycloneDX) where none is stated.
 * Checked against the official schemas.
 */

const cacheDir = tempDir('fleet-export-licenses-cache');
const RUSTSEC = advisoryDbCheckout();
const validateCycloneDx = cycloneDx16Validator();
const validateSpdx = spdx23Validator();
const skips = await storeSkips();

const NPM_APP = 'jellyfin-web-2026-08-22';

/** name@version -> the licence the lockfile's entry states, read from the lockfile as npm wrote it. */
function lockfileLicenses(lockfile: string): Map<string, string> {
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, { name?: string; version?: string; license?: unknown }> };
  const out = new Map<string, string>();
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (location === '' || typeof entry.license !== 'string' || entry.version === undefined) continue;
    const name = entry.name ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (!out.has(`${name}@${entry.version}`)) out.set(`${name}@${entry.version}`, entry.license);
  }
  return out;
}

for (const kind of STORE_KINDS) {
  test(`export carries the licences the documents state: npm lockfile, manifests, an SBOM added back (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-export-licenses');
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', RUSTSEC, '--db', GHSA_NPM).status, 0);
      const web = join(dir, 'web');
      mkdirSync(web);
      copyFileSync(join(NPM_CORPUS, `${NPM_APP}.package-lock.json`), join(web, 'package-lock.json'));
      copyFileSync(join(NPM_CORPUS, `${NPM_APP}.package.json`), join(web, 'package.json'));
      const ripgrep = join(dir, 'ripgrep');
      mkdirSync(ripgrep);
      copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock'), join(ripgrep, 'Cargo.lock'));
      copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.toml'), join(ripgrep, 'Cargo.toml'));
      const added = fleet('add', web, ripgrep);
      assert.ok([0, 1].includes(added.status), added.stderr);

      const stated = lockfileLicenses(join(web, 'package-lock.json'));
      const manifest = JSON.parse(readFileSync(join(web, 'package.json'), 'utf8')) as { license: string };

      const cdxRun = fleet('export', 'web', '--format', 'cyclonedx');
      assert.equal(cdxRun.status, 0, cdxRun.stderr);
      const bom = JSON.parse(cdxRun.stdout) as CycloneDxBom;
      validateCycloneDx(bom);
      assert.deepEqual(bom.metadata.component.licenses, [{ expression: normalizeLicense(manifest.license, 'npm') }]);
      let withLicence = 0;
      for (const c of bom.components) {
        const raw = stated.get(`${c.name}@${c.version}`);
        const expected = raw === undefined ? null : normalizeLicense(raw, 'npm');
        assert.deepEqual(c.licenses ?? null, expected === null ? null : [{ expression: expected }], `${c.name}@${c.version}`);
        if (expected !== null) withLicence++;
      }
      // Most of this lockfile's packages state one, and some do not.
      assert.ok(withLicence > 500 && withLicence < bom.components.length, `${withLicence} of ${bom.components.length}`);

      const spdxRun = fleet('export', 'web', '--format', 'spdx');
      assert.equal(spdxRun.status, 0, spdxRun.stderr);
      const doc = JSON.parse(spdxRun.stdout) as SpdxDocument;
      validateSpdx(doc);
      for (const p of doc.packages.filter((x) => x.primaryPackagePurpose !== 'APPLICATION')) {
        const raw = stated.get(`${p.name}@${p.versionInfo}`);
        assert.equal(p.licenseDeclared, raw === undefined ? 'NOASSERTION' : normalizeLicense(raw, 'npm'), `${p.name}@${p.versionInfo}`);
        assert.equal(p.licenseConcluded, 'NOASSERTION');
      }

      // The Cargo application: its manifest's licence; Cargo.lock states none for its crates.
      const rg = JSON.parse(fleet('export', 'ripgrep', '--format', 'cyclonedx').stdout) as CycloneDxBom;
      validateCycloneDx(rg);
      assert.deepEqual(rg.metadata.component.licenses, [{ expression: 'Unlicense OR MIT' }]);
      assert.ok(rg.components.every((c) => c.licenses === undefined));

      // What the fleet exported, added back as an application of its own: the same licences.
      const sbomFile = join(dir, 'web-again.cdx.json');
      writeFileSync(sbomFile, cdxRun.stdout);
      assert.ok([0, 1].includes(fleet('add', sbomFile).status));
      const again = JSON.parse(fleet('export', 'web-again', '--format', 'cyclonedx').stdout) as CycloneDxBom;
      validateCycloneDx(again);
      const licencesOf = (b: CycloneDxBom): string[] => b.components.map((c) => `${c['bom-ref']} ${JSON.stringify(c.licenses ?? null)}`).sort();
      assert.deepEqual(licencesOf(again), licencesOf(bom));
      assert.deepEqual(again.metadata.component.licenses, bom.metadata.component.licenses);
    } finally {
      await store.dispose();
    }
  });
}
