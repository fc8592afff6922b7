import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StowageError } from '../../../src/core/errors.js';
import { parseRelations } from '../../../src/inputs/deb/control.js';
import { crateName, crateVersion, cratesOfRelations } from '../../../src/inputs/deb/rust-packages.js';

// Expected values follow debcargo's rules (base_deb_name, deb_upstream_version), worked by hand.

test('Debian versions of crates back to crate versions: epoch, revision, binNMU, repack suffix, pre-release', () => {
  assert.equal(crateVersion('0.7.19-1'), '0.7.19');
  assert.equal(crateVersion('13.0.0-4+b2'), '13.0.0');
  assert.equal(crateVersion('1:2.0.0-3'), '2.0.0');
  assert.equal(crateVersion('0.2.4+dfsg-2'), '0.2.4');
  assert.equal(crateVersion('1.0.0+dfsg1-1'), '1.0.0');
  assert.equal(crateVersion('4.0.0~rc.1-1'), '4.0.0-rc.1');
  assert.equal(crateVersion('0.26.0~beta.1+ds-2~bpo12+1'), '0.26.0-beta.1');
  assert.equal(crateVersion('1.20141219.5-1'), '1.20141219.5');
  // Not what debcargo writes: refused rather than guessed.
  assert.equal(crateVersion('1.0-1'), null);
  assert.equal(crateVersion('01.2.3-1'), null);
});

test('Debian package names back to crate names: the semver-line suffix only when the version is on that line', () => {
  assert.equal(crateName('clap-3', '3.2.23'), 'clap');
  assert.equal(crateName('cfg-if-0.1', '0.1.10'), 'cfg-if');
  assert.equal(crateName('cfg-if', '1.0.0'), 'cfg-if');
  assert.equal(crateName('sha-1', '0.10.1'), 'sha-1');
  assert.equal(crateName('md-5', '0.10.5'), 'md-5');
  assert.equal(crateName('rust-decimal', '1.23.1'), 'rust-decimal');
});

test('a Built-Using field: crates, the toolchain passed over, other sources listed, ranges refused', () => {
  const field = 'rust-aho-corasick (= 0.7.19-1), rust-clap-3 (= 3.2.23-4),\n rustc (= 1.63.0+dfsg1-2), golang-x-sys (= 0.1-1), rust-sha-1 (= 0.10.1-2)';
  const { crates, others } = cratesOfRelations(parseRelations(field, 'Static-Built-Using', 'x.deb'), 'Static-Built-Using', 'x.deb');
  assert.deepEqual(
    crates.map((c) => `${c.name}@${c.version}`),
    ['aho-corasick@0.7.19', 'clap@3.2.23', 'sha-1@0.10.1'],
  );
  assert.deepEqual(others, ['golang-x-sys (= 0.1-1)']);
  const line = (pattern: RegExp) => (err: unknown): boolean => err instanceof StowageError && pattern.test(err.line);
  assert.throws(() => parseRelations('rust-foo (>= 1.0.0-1)', 'X-Cargo-Built-Using', 'x.deb'), line(/^x\.deb: X-Cargo-Built-Using: "rust-foo \(>= 1\.0\.0-1\)" gives a range/));
  assert.throws(() => cratesOfRelations(parseRelations('rust-foo', 'F', 'x.deb'), 'F', 'x.deb'), line(/^x\.deb: F: rust-foo names no version/));
});
