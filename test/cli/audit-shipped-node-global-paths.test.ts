import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { packTar } from '../support/hostile-tar.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/**
 * Every node, not only Debian's, loads packages from its global directories when no node_modules
 * holds them (Module._initPaths; checked with node 18 here: `HOME=H node -e "require('x')"`
 * loads H/.node_modules/x): `$HOME/.node_modules`, `$HOME/.node_libraries` and `PREFIX/lib/node`
 * beside `PREFIX/bin/node` (`/usr/lib/node`, `/usr/local/lib/node` in the official node images).
 * An image or a tree holding minimist 0.0.8 (two advisories in the GHSA data) there passed with
 * exit 0 when it held anything else. left-pad 1.1.0 has none.
 */

const cacheDir = tempDir('audit-node-global-paths-cache');
const json = (value: unknown): string => JSON.stringify(value);
const MINIMIST = json({ name: 'minimist', version: '0.0.8' });
const MINIMIST_ADVISORIES = ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h'];
const GLOBAL_DIRS = ['home/node/.node_libraries', 'root/.node_modules', 'usr/lib/node', 'usr/local/lib/node'];

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
}

const findings = (report: AuditReport): string[] => report.findings.map((f) => `${f.target} ${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

const expected = (artifact: string): string[] => GLOBAL_DIRS.flatMap((dir) => MINIMIST_ADVISORIES.map((id) => `${artifact}:${dir} ${id} minimist@0.0.8`)).sort();

const TREE: Record<string, string> = {
  ...Object.fromEntries(GLOBAL_DIRS.map((dir) => [`${dir}/minimist/package.json`, MINIMIST])),
  'app/node_modules/left-pad/package.json': json({ name: 'left-pad', version: '1.1.0' }),
  // Some package's own files: not where node loads packages from.
  'app/node_modules/left-pad/test/.node_modules/minimist/package.json': MINIMIST,
};

test("an image: node's own global directories ($HOME/.node_modules, $HOME/.node_libraries, PREFIX/lib/node) are installed node_modules", async () => {
  const image = await dockerSaveArchive([await packTar(Object.entries(TREE).map(([path, text]) => tarFile(path, text)))], 'node-global:1');
  const out = audit(image);
  assert.equal(out.status, 1, out.stderr);
  assert.deepEqual(findings(auditReport(out.stdout)), expected(image));
});

test("a root file system on disk: node's own global directories are read, a copy inside a package is not", () => {
  const root = tempDir('node-global-rootfs');
  for (const [path, text] of Object.entries(TREE)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const out = audit(root);
  assert.equal(out.status, 1, out.stderr);
  assert.deepEqual(findings(auditReport(out.stdout)), expected(root));
});
