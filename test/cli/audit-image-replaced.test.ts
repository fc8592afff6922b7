import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { packTar } from '../support/hostile-tar.js';
import { elfWithDepV0 } from '../support/object-files.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/**
 * A later layer that puts something stowage does not keep (a shell script, a plain file, a
 * directory) where a lower layer had a binary or a package hides it, as docker and containerd
 * unpack the layers: `docker run` finds the script at /usr/bin/tool, and node finds no package
 * at app/node_modules/minimist. Kept, the replaced binary and package were reported as if the
 * image still held them.
 */

const cacheDir = tempDir('audit-image-replaced-cache');
const db = rustsecAdvisoryDb(join(tempDir('audit-image-replaced-db'), 'db'), [{ id: 'RUSTSEC-2099-0401', package: 'smallvec', patched: ['>= 1.6.1'] }]);

function elf(packages: object[]): Buffer {
  return elfWithDepV0(true, true, deflateSync(JSON.stringify({ packages })));
}
/** Built from smallvec 1.6.0, which RUSTSEC-2099-0401 affects. */
const VULNERABLE = elf([
  { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
  { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
]);
const CLEAN = elf([{ name: 'tool', version: '0.2.0', source: 'local', root: true }]);
const json = (value: unknown): string => JSON.stringify(value);

function audit(path: string): ReturnType<typeof runCli> {
  return runCli(['audit', path, '--db', db, '--db', GHSA_NPM, '--no-fetch', '--format', 'json'], { cacheDir });
}

test('a later layer replacing a binary with a script, a package directory with a file, and a binary with a directory: none of them reported', async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([
        tarFile('usr/bin/tool', VULNERABLE, 0o755),
        tarFile('usr/libexec/helper', VULNERABLE, 0o755),
        tarFile('app/node_modules/minimist/package.json', json({ name: 'minimist', version: '0.0.8' })),
        tarFile('app/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' })),
      ]),
      await packTar([
        tarFile('usr/bin/tool', '#!/bin/sh\nexec /opt/tool/bin/tool "$@"\n', 0o755),
        tarFile('opt/tool/bin/tool', CLEAN, 0o755),
        { header: { name: 'usr/libexec/helper/', type: 'directory', mode: 0o755 } },
        tarFile('app/node_modules/minimist', 'module.exports = {};\n'),
      ]),
    ],
    'replaced:1',
  );
  const out = audit(image);
  assert.equal(out.status, 0, out.stdout + out.stderr);
  const report = auditReport(out.stdout);
  assert.deepEqual(report.findings, []);
  assert.deepEqual(report.targets.map((t) => t.path).sort(), [`${image}:app/node_modules`, `${image}:opt/tool/bin/tool`]);
  assert.equal(report.targets.find((t) => t.path === `${image}:app/node_modules`)?.packages, 2, 'the application and left-pad');
});

test('a layer that replaces a directory merges with it: the binaries and packages below it stay', async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([tarFile('usr/bin/tool', VULNERABLE, 0o755), tarFile('app/node_modules/minimist/package.json', json({ name: 'minimist', version: '0.0.8' }))]),
      await packTar([
        { header: { name: 'usr/bin/', type: 'directory', mode: 0o755 } },
        { header: { name: 'app/node_modules/minimist/', type: 'directory', mode: 0o755 } },
        tarFile('app/node_modules/minimist/README.md', 'minimist\n'),
      ]),
    ],
    'merged:1',
  );
  const out = audit(image);
  assert.equal(out.status, 1, out.stdout + out.stderr);
  const ids = auditReport(out.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name}`).sort();
  assert.deepEqual(ids, ['GHSA-vh95-rmgr-6w4m minimist', 'GHSA-xvch-5gv4-984h minimist', 'RUSTSEC-2099-0401 smallvec']);
});

test('a later layer whose hard link puts a script where a binary was: the binary is not reported (a link to a binary is, as that binary)', async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([tarFile('usr/bin/tool', VULNERABLE, 0o755), tarFile('usr/bin/helper', VULNERABLE, 0o755)]),
      await packTar([
        tarFile('usr/lib/tool/run.sh', '#!/bin/sh\nexec /opt/tool/bin/tool "$@"\n', 0o755),
        { header: { name: 'usr/bin/tool', type: 'link', linkname: 'usr/lib/tool/run.sh' } },
        tarFile('opt/tool/bin/tool', CLEAN, 0o755),
        { header: { name: 'usr/bin/helper', type: 'link', linkname: 'opt/tool/bin/tool' } },
      ]),
    ],
    'linked:1',
  );
  const out = audit(image);
  assert.equal(out.status, 0, out.stdout + out.stderr);
  const report = auditReport(out.stdout);
  assert.deepEqual(report.findings, []);
  assert.deepEqual(report.targets.map((t) => t.path).sort(), [`${image}:opt/tool/bin/tool`, `${image}:usr/bin/helper`]);
});

test('a layer two images share, over other layers below in each: what it replaces is replaced in both, whichever image comes first', async () => {
  const shared = await packTar([tarFile('usr/bin/tool', '#!/bin/sh\nexec /opt/tool/bin/tool "$@"\n', 0o755), tarFile('opt/tool/bin/tool', CLEAN, 0o755)]);
  const plain = await packTar([tarFile('etc/os-release', 'ID=plain\n')]);
  const withTool = await packTar([tarFile('usr/bin/tool', VULNERABLE, 0o755)]);
  const names = ['plain/layer.tar', 'tool/layer.tar', 'shared/layer.tar'];
  const image = join(tempDir('audit-image-shared'), 'images.tar');
  writeFileSync(
    image,
    await packTar([
      tarFile(
        'manifest.json',
        json([
          { Config: 'a.json', RepoTags: ['a:1'], Layers: [names[0], names[2]] },
          { Config: 'b.json', RepoTags: ['b:1'], Layers: [names[1], names[2]] },
        ]),
      ),
      tarFile('a.json', '{}'),
      tarFile('b.json', '{}'),
      tarFile(names[0] as string, plain),
      tarFile(names[1] as string, withTool),
      tarFile(names[2] as string, shared),
    ]),
  );
  const out = audit(image);
  assert.equal(out.status, 0, out.stdout + out.stderr);
  const report = auditReport(out.stdout);
  assert.deepEqual(report.findings, []);
  assert.deepEqual(report.targets.map((t) => t.path).sort(), [`${image}#a:1:opt/tool/bin/tool`, `${image}#b:1:opt/tool/bin/tool`]);
});
