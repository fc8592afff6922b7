import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { packTar } from '../support/hostile-tar.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { buildDeb, dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/**
 * Debian's node packages install npm packages outside any node_modules: `node-minimist` puts
 * minimist in /usr/share/nodejs/minimist (older releases also used /usr/lib/nodejs, and
 * compiled addons go to /usr/lib/TRIPLET/nodejs). Debian's node has those directories as its
 * global paths (`node_relative_path` "lib/x86_64-linux-gnu/nodejs:share/nodejs" in bookworm's
 * libnode108), so `require('minimist')` from any script loads them. Audited as installed npm
 * packages, whether they come in a .deb, an image or a root file system on disk; passed over,
 * a .deb or an image holding a vulnerable one passed with exit 0 when it held anything else.
 * minimist 0.0.8 has two advisories in the GHSA data, left-pad 1.1.0 none.
 */

const cacheDir = tempDir('audit-debian-node-cache');
const json = (value: unknown): string => JSON.stringify(value);
const MINIMIST = json({ name: 'minimist', version: '0.0.8' });
const MINIMIST_ADVISORIES = ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h'];

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
}

const findings = (report: AuditReport): string[] => report.findings.map((f) => `${f.target} ${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

test("a .deb laid out as Debian's node-minimist: /usr/share/nodejs/minimist is an installed npm package, beside the node_modules it ships", () => {
  const src = tempDir('debian-node-src');
  writeTree(src, {
    'minimist.json': MINIMIST,
    'types.json': json({ name: '@types/minimist', version: '1.2.2' }),
    'left-pad.json': json({ name: 'left-pad', version: '1.1.0' }),
  });
  const deb = buildDeb({
    name: 'node-minimist',
    version: '0.0.8-1',
    fields: {},
    files: {
      'usr/share/nodejs/minimist/package.json': join(src, 'minimist.json'),
      'usr/share/nodejs/@types/minimist/package.json': join(src, 'types.json'),
      'usr/lib/tool/node_modules/left-pad/package.json': join(src, 'left-pad.json'),
    },
    compression: 'xz',
  });
  const out = audit(deb);
  assert.equal(out.status, 1, out.stderr);
  const report = auditReport(out.stdout);
  assert.deepEqual(
    findings(report),
    MINIMIST_ADVISORIES.map((id) => `${deb}:usr/share/nodejs ${id} minimist@0.0.8`),
  );
  const target = report.targets.find((t) => t.path === `${deb}:usr/share/nodejs`);
  assert.equal(target?.packages, 3, 'minimist and @types/minimist, with the directory as their root');
  assert.ok(report.targets.some((t) => t.path === `${deb}:usr/lib/tool/node_modules`), 'the node_modules it ships is still read');
});

test("an image: a global package's dependency resolves from the global directory, and a layer's whiteout removes one", async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([
        tarFile('usr/share/nodejs/argv-tool/package.json', json({ name: 'argv-tool', version: '1.0.0', dependencies: { minimist: '0.0.8' } })),
        tarFile('usr/share/nodejs/minimist/package.json', MINIMIST),
        tarFile('usr/lib/nodejs/minimist/package.json', MINIMIST),
        tarFile('app/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' })),
      ]),
      // apt-get remove of an older release's copy, in a later layer.
      await packTar([tarFile('usr/lib/nodejs/.wh.minimist', '')]),
    ],
    'debian-node:1',
  );
  const out = audit(image);
  assert.equal(out.status, 1, out.stderr);
  const report = auditReport(out.stdout);
  assert.deepEqual(
    findings(report),
    MINIMIST_ADVISORIES.map((id) => `${image}:usr/share/nodejs ${id} minimist@0.0.8`),
  );
  const finding = report.findings[0];
  assert.ok(finding?.paths.some((p) => p.join(' ').includes('argv-tool')), `minimist is reached through argv-tool: ${JSON.stringify(finding?.paths)}`);
});

test('a root file system on disk, and its global directory given alone; a copy of the layout inside a package is none of node\'s', () => {
  const root = tempDir('debian-node-rootfs');
  writeTree(root, {
    'usr/lib/x86_64-linux-gnu/nodejs/minimist/package.json': MINIMIST,
    'srv/app/node_modules/left-pad/package.json': json({ name: 'left-pad', version: '1.1.0' }),
    // Some package's own fixture: not where node loads packages from.
    'srv/app/node_modules/left-pad/test/usr/share/nodejs/minimist/package.json': MINIMIST,
  });
  const whole = audit(root);
  assert.equal(whole.status, 1, whole.stderr);
  assert.deepEqual(
    findings(auditReport(whole.stdout)),
    MINIMIST_ADVISORIES.map((id) => `${root}:usr/lib/x86_64-linux-gnu/nodejs ${id} minimist@0.0.8`),
  );
  const dir = join(root, 'usr', 'lib', 'x86_64-linux-gnu', 'nodejs');
  const alone = audit(dir);
  assert.equal(alone.status, 1, alone.stderr);
  assert.deepEqual(
    findings(auditReport(alone.stdout)),
    MINIMIST_ADVISORIES.map((id) => `${dir}:. ${id} minimist@0.0.8`),
  );
});
