import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { buildRpm } from '../support/shipped-artifacts.js';

/**
 * rpm (4.12 and later) takes only a payload entry's name and size from its cpio header: what the
 * entry is installed as (its type, its hard links, a symbolic link's target) comes from the RPM
 * header's file list. The audit read the cpio header's instead, so an RPM whose payload says
 * otherwise than its header (checked by hand: rpm 4.18 `rpm -i --root`, digests left as built,
 * `--nodigest`; a packager recomputes them) installed minimist 0.0.8 (two advisories in the GHSA
 * data) where the audit passed without it:
 *
 * - the package.json's cpio mode a character device: rpm writes a regular file with its bytes;
 * - a package.json hard-linked (in the header) to a data file that carries the bytes, its cpio
 *   entries each saying one link: rpm gives the package.json those bytes;
 * - a link to the package's directory whose cpio data names another (fixed) copy: rpm links to
 *   the header's target.
 *
 * Each RPM also installs a package without advisories, so there is always something to audit.
 */

const cacheDir = tempDir('audit-rpm-header-files-cache');
const MINIMIST = `'{"name":"minimist","version":"0.0.8"}'`;
const BENIGN = [
  'mkdir -p %{buildroot}/usr/lib/node_modules/stowage-benign',
  `echo '{"name":"stowage-benign","version":"1.0.0"}' > %{buildroot}/usr/lib/node_modules/stowage-benign/package.json`,
];

/** The RPM's bytes with one cpio header field of the entry named `name` (`./usr/...`) set to `value`. */
function patchCpio(bytes: Buffer, name: string, field: 'mode' | 'nlink', value: number): void {
  const at = bytes.lastIndexOf(Buffer.from(`${name}\0`, 'latin1'));
  const header = at - 110;
  assert.ok(at > 0 && bytes.toString('latin1', header, header + 6) === '070701', `no cpio entry ${name}`);
  const offset = header + 6 + { mode: 1, nlink: 4 }[field] * 8;
  bytes.write(value.toString(16).padStart(8, '0'), offset, 'latin1');
}

function audit(rpm: string): { status: number; findings: string[]; stderr: string } {
  const out = runCli(['audit', rpm, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
  const findings = out.status === 0 || out.status === 1 ? auditReport(out.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort() : [];
  return { status: out.status, findings, stderr: out.stderr };
}

const MINIMIST_FINDINGS = ['GHSA-vh95-rmgr-6w4m minimist@0.0.8', 'GHSA-xvch-5gv4-984h minimist@0.0.8'];

test("an RPM payload entry whose cpio mode is not a regular file's is read as the header's regular file, as rpm installs it", () => {
  const rpm = buildRpm({
    provides: [],
    binary: null,
    payload: 'none',
    install: [...BENIGN, 'mkdir -p %{buildroot}/usr/lib/node_modules/minimist', `echo ${MINIMIST} > %{buildroot}/usr/lib/node_modules/minimist/package.json`],
    files: ['/usr/lib/node_modules'],
  });
  const bytes = readFileSync(rpm);
  patchCpio(bytes, './usr/lib/node_modules/minimist/package.json', 'mode', 0o020644);
  const patched = `${tempDir('rpm-mode')}/mode.rpm`;
  writeFileSync(patched, bytes);
  const out = audit(patched);
  assert.equal(out.status, 1, out.stderr);
  assert.deepEqual(out.findings, MINIMIST_FINDINGS);
});

test('names the RPM header makes one file are read with the bytes rpm gives them, whatever link count their cpio entries say', () => {
  const rpm = buildRpm({
    provides: [],
    binary: null,
    payload: 'none',
    install: [
      ...BENIGN,
      'mkdir -p %{buildroot}/usr/lib/node_modules/minimist %{buildroot}/usr/share/hldemo',
      `echo ${MINIMIST} > %{buildroot}/usr/share/hldemo/data.json`,
      'ln %{buildroot}/usr/share/hldemo/data.json %{buildroot}/usr/lib/node_modules/minimist/package.json',
    ],
    files: ['/usr/lib/node_modules', '/usr/share/hldemo'],
  });
  const bytes = readFileSync(rpm);
  for (const name of ['./usr/lib/node_modules/minimist/package.json', './usr/share/hldemo/data.json']) patchCpio(bytes, name, 'nlink', 1);
  const patched = `${tempDir('rpm-nlink')}/nlink.rpm`;
  writeFileSync(patched, bytes);
  const out = audit(patched);
  assert.equal(out.status, 1, out.stderr);
  assert.deepEqual(out.findings, MINIMIST_FINDINGS);
});

test("a symbolic link's target is the RPM header's, not what its payload entry carries", () => {
  const rpm = buildRpm({
    provides: [],
    binary: null,
    payload: 'none',
    install: [
      ...BENIGN,
      'mkdir -p %{buildroot}/usr/share/lndemo/aaaa %{buildroot}/usr/share/lndemo/bbbb',
      `echo ${MINIMIST} > %{buildroot}/usr/share/lndemo/aaaa/package.json`,
      `echo '{"name":"minimist","version":"1.2.8"}' > %{buildroot}/usr/share/lndemo/bbbb/package.json`,
      'ln -s ../../share/lndemo/aaaa %{buildroot}/usr/lib/node_modules/minimist',
    ],
    files: ['/usr/lib/node_modules', '/usr/share/lndemo'],
  });
  const bytes = readFileSync(rpm);
  // The payload's copy of the target is the last: the header's comes first.
  const target = Buffer.from('../../share/lndemo/aaaa', 'latin1');
  const at = bytes.lastIndexOf(target);
  assert.ok(at > bytes.indexOf(target), 'the target is in the header and the payload');
  bytes.write('../../share/lndemo/bbbb', at, 'latin1');
  const patched = `${tempDir('rpm-linkto')}/linkto.rpm`;
  writeFileSync(patched, bytes);
  const out = audit(patched);
  assert.equal(out.status, 1, out.stderr);
  assert.deepEqual(out.findings, MINIMIST_FINDINGS);
});

test('a payload entry the RPM header does not list is refused in one line, as rpm refuses to install it', () => {
  const rpm = buildRpm({
    provides: [],
    binary: null,
    payload: 'none',
    install: [...BENIGN, 'mkdir -p %{buildroot}/usr/lib/node_modules/minimist', `echo ${MINIMIST} > %{buildroot}/usr/lib/node_modules/minimist/package.json`],
    files: ['/usr/lib/node_modules'],
  });
  const bytes = readFileSync(rpm);
  // The same length, another name: no header entry has it.
  const name = Buffer.from('./usr/lib/node_modules/minimist/package.json\0', 'latin1');
  bytes.write('./usr/lib/node_modules/minimisx/package.json', bytes.lastIndexOf(name), 'latin1');
  const patched = `${tempDir('rpm-unlisted')}/unlisted.rpm`;
  writeFileSync(patched, bytes);
  const out = audit(patched);
  assert.equal(out.status, 2, out.stderr);
  assert.equal(
    out.stderr.trim(),
    `stowage: ${patched}: payload: payload entry "./usr/lib/node_modules/minimisx/package.json" is not among the files the RPM header lists: rpm refuses to install the package`,
  );
});
