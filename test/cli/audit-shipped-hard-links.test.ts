import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { packTar } from '../support/hostile-tar.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/**
 * A package.json that a `.deb`'s data or an image layer holds as a hard link to a file of
 * another name: tar writes a file's second name as a link to its first, and dpkg-deb sorts the
 * names, so `usr/lib/nm-data/minimist.json` is the file and
 * `usr/lib/node_modules/minimist/package.json` the link to it. dpkg and docker install the
 * package.json with those bytes, and node loads minimist 0.0.8 (two advisories in the GHSA data);
 * the audit passed with minimist unread, as the file the link names was not one it kept.
 */

const cacheDir = tempDir('audit-shipped-hard-links-cache');
const json = (value: unknown): string => JSON.stringify(value);
const MINIMIST = json({ name: 'minimist', version: '0.0.8' });
const MINIMIST_FINDINGS = ['GHSA-vh95-rmgr-6w4m minimist@0.0.8', 'GHSA-xvch-5gv4-984h minimist@0.0.8'];

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
}

const npmFindings = (report: AuditReport, target: string): string[] =>
  report.findings.filter((f) => f.target === target).map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

test('a .deb built by dpkg-deb whose package.json is a hard link to a file of another name: the package is read with those bytes', () => {
  const root = tempDir('deb-hard-link');
  mkdirSync(join(root, 'DEBIAN'));
  writeFileSync(join(root, 'DEBIAN', 'control'), 'Package: hard-link-demo\nVersion: 1.0\nArchitecture: all\nMaintainer: Test <test@example.org>\nDescription: test package\n');
  for (const dir of ['usr/lib/nm-data', 'usr/lib/node_modules/minimist', 'usr/lib/node_modules/left-pad']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'usr/lib/nm-data/minimist.json'), MINIMIST);
  linkSync(join(root, 'usr/lib/nm-data/minimist.json'), join(root, 'usr/lib/node_modules/minimist/package.json'));
  writeFileSync(join(root, 'usr/lib/node_modules/minimist/index.js'), 'module.exports = {};\n');
  writeFileSync(join(root, 'usr/lib/node_modules/left-pad/package.json'), json({ name: 'left-pad', version: '1.1.0' }));
  const deb = join(tempDir('deb-hard-link-out'), 'hard-link-demo_1.0_all.deb');
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, deb], { stdio: 'ignore' });
  // dpkg-deb wrote the package.json as the link (tar's `h` entry), as dpkg installs it.
  const listing = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' });
  assert.match(listing, /^h.*\.\/usr\/lib\/node_modules\/minimist\/package\.json link to \.\/usr\/lib\/nm-data\/minimist\.json$/m);

  const run = audit(deb);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(npmFindings(report, `${deb}:usr/lib/node_modules`), MINIMIST_FINDINGS);
});

test('an image layer whose package.json is a hard link, through another link, to a file of another name: the package is read, and each link keeps its own bytes', async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([
        tarFile('app/package.json', json({ name: 'app', version: '1.0.0' })),
        tarFile('opt/data/minimist.json', MINIMIST),
        { header: { name: 'opt/data/copy.json', type: 'link', linkname: 'opt/data/minimist.json' } },
        // The first file is replaced after the links were made: they keep the bytes they had.
        tarFile('opt/data/minimist.json', json({ name: 'minimist', version: '1.2.8' })),
        tarFile('app/node_modules/minimist/index.js', 'module.exports = {};\n'),
        { header: { name: 'app/node_modules/minimist/package.json', type: 'link', linkname: 'opt/data/copy.json' } },
        tarFile('app/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' })),
      ]),
    ],
    'hard-link:1',
  );
  const run = audit(image);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  const target = `${image}:app/node_modules`;
  assert.deepEqual(npmFindings(report, target), MINIMIST_FINDINGS);
  assert.equal(report.targets.find((t) => t.path === target)?.packages, 3, run.stdout);
});
