import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { auditReport } from '../support/audit-report.js';
import { elfWithDepV0 } from '../support/object-files.js';
import { runCli, tempDir } from '../support/shared.js';
import { buildDeb } from '../support/shipped-artifacts.js';

/*
 * zstd data whose inflated size is a multiple of 128 KiB, the chunk stowage inflates zstd in:
 * one tar in 256 (tar sizes are multiples of 512 bytes). ripgrep 13's vendor archive was one
 * (33.5 MiB, 268 chunks exactly): `stowage vendor` wrote it, and `stowage package rpm --vendor`
 * then refused it as "truncated or corrupt zstd data", which `zstd -t` and `tar --zstd` read
 * without complaint. The same reader inflates .deb members, RPM payloads and image layers.
 */

const CHUNK = 128 * 1024;
const work = tempDir('audit-zstd-exact-size');
const cacheDir = join(work, 'cache');
after(() => rmSync(work, { recursive: true, force: true }));
const db = rustsecAdvisoryDb(join(work, 'db'), [{ id: 'RUSTSEC-2099-0311', package: 'smallvec', patched: ['>= 1.6.1'] }]);

/** An ELF executable built, its cargo-auditable section says, from smallvec 1.6.0. */
const VULNERABLE = elfWithDepV0(
  true,
  true,
  deflateSync(
    JSON.stringify({
      packages: [
        { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
        { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
      ],
    }),
  ),
);

test('a .deb whose data.tar.zst inflates to a whole number of 128 KiB chunks is read: its binary audited, not refused as truncated', () => {
  const dir = join(work, 'deb');
  mkdirSync(join(dir, 'members'), { recursive: true });
  writeFileSync(join(dir, 'tool'), VULNERABLE);
  const built = buildDeb({ name: 'exact-tool', version: '1.0-1', fields: {}, files: { 'usr/bin/tool': join(dir, 'tool') }, compression: 'zstd' });

  // dpkg-deb's data.tar, padded with zero blocks (as tar pads its records) to 256 KiB, and
  // compressed again by the zstd tool; the package reassembled in dpkg's member order.
  const members = join(dir, 'members');
  execFileSync('ar', ['x', built], { cwd: members });
  const tar = execFileSync('zstd', ['-dc', join(members, 'data.tar.zst')]);
  const padded = Buffer.concat([tar, Buffer.alloc(2 * CHUNK - tar.length)]);
  writeFileSync(join(members, 'data.tar'), padded);
  rmSync(join(members, 'data.tar.zst'));
  execFileSync('zstd', ['-q', '-19', '--rm', 'data.tar'], { cwd: members });
  const deb = join(dir, 'exact-tool_1.0-1_amd64.deb');
  execFileSync('ar', ['rcD', deb, 'debian-binary', 'control.tar.zst', 'data.tar.zst'], { cwd: members });
  // The package is a sound one for Debian's own tool, and its tar is exactly two chunks.
  assert.match(execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' }), /\.\/usr\/bin\/tool\n/);
  assert.equal(execFileSync('zstd', ['-dc', join(members, 'data.tar.zst')]).length, 2 * CHUNK);

  const run = runCli(['audit', deb, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(
    report.findings.map((f) => [f.target, f.advisory.id, `${f.package.name}@${f.package.version}`]),
    [[`${deb}:usr/bin/tool`, 'RUSTSEC-2099-0311', 'smallvec@1.6.0']],
  );
});
