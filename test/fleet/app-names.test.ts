import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { appNameFor } from '../../src/fleet/add.js';
import { tempDir } from '../support/shared.js';

/**
 * `fleet add PATH` names the application after PATH. A package or a binary used to be named
 * after the directory holding it, as a bare `Cargo.lock` is: every RPM of `RPMS/x86_64/` became
 * a revision of one application "x86_64", every `.deb` of a pool directory one application.
 */

function file(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  return path;
}

test('a package is named by its package name, so each version is a revision of one application', () => {
  const rpms = join(tempDir('app-names'), 'RPMS', 'x86_64');
  mkdirSync(rpms, { recursive: true });
  assert.equal(appNameFor(file(rpms, 'app-0.1.0-1.x86_64.rpm')), 'app');
  assert.equal(appNameFor(file(rpms, 'rust-fd-find-8.7.0-2.fc40.x86_64.rpm')), 'rust-fd-find');
  assert.equal(appNameFor(file(rpms, 'app-0.1.0-1.src.rpm')), 'app');
  assert.equal(appNameFor(file(rpms, 'fd-find_8.6.0-3_amd64.deb')), 'fd-find');
  assert.equal(appNameFor(file(rpms, 'ripgrep_13.0.0-4+b2_amd64.deb')), 'ripgrep');
  assert.equal(appNameFor(file(rpms, 'local.deb')), 'local.deb', 'not named as Debian names packages: the file name');
});

test('a Rust binary is named by its file; a bare lockfile by its directory; NAME.lockfile by NAME', () => {
  const root = tempDir('app-names');
  const bin = join(root, 'usr', 'bin');
  mkdirSync(bin, { recursive: true });
  assert.equal(appNameFor(file(bin, 'rg')), 'rg');
  const app = join(root, 'ripgrep');
  mkdirSync(app);
  assert.equal(appNameFor(file(app, 'Cargo.lock')), 'ripgrep');
  assert.equal(appNameFor(file(app, 'package-lock.json')), 'ripgrep', 'not "package-lock"');
  assert.equal(appNameFor(file(app, 'npm-shrinkwrap.json')), 'ripgrep');
  assert.equal(appNameFor(file(root, 'web.package-lock.json')), 'web');
  assert.equal(appNameFor(app), 'ripgrep');
});
