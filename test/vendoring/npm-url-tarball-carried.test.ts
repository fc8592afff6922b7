import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, runCliAsync, tempDir, tempTree } from '../support/shared.js';
import { packFixture } from '../support/npm-registry.js';

/*
 * A tarball by URL is whatever its server sends, and npm installs every package it carries under
 * a node_modules/ of its own: npm 11.19's `npm ci` of a lockfile naming only `carrier` (resolved
 * http://127.0.0.1:PORT/carrier-1.0.0.tgz) installs node_modules/carrier/node_modules/minimist
 * 1.2.0, which the lockfile does not list. The audit cannot fetch; `vendor` does, and before
 * wrote the archive as audited. Now it refuses the archive, naming what the tarball carries,
 * unless the lockfile lists it (a bundle's inBundle entries, which the audit reads).
 */

const json = (value: unknown): string => JSON.stringify(value, null, 2);
const CARRIED = { name: 'fixture-carried', version: '1.0.0' };

async function vendorWith(listed: boolean, manager: 'npm' | 'pnpm' | 'yarn' = 'npm', listedVersion = CARRIED.version): Promise<{ status: number; stderr: string; out: string }> {
  const source = tempTree('npm-url-carrier', {
    'package.json': json({ name: 'carrier', version: '1.0.0', ...(listed ? { bundleDependencies: ['fixture-carried'] } : {}) }),
    'node_modules/fixture-carried/package.json': json(CARRIED),
  });
  const carrier = await packFixture(source);
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/octet-stream');
    res.end(carrier.tarball);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/carrier-1.0.0.tgz`;
  try {
    const packages: Record<string, unknown> = {
      '': { name: 'app', version: '1.0.0', dependencies: { carrier: url } },
      'node_modules/carrier': { version: '1.0.0', resolved: url, integrity: carrier.integrity, ...(listed ? { bundleDependencies: ['fixture-carried'] } : {}) },
    };
    if (listed) packages['node_modules/carrier/node_modules/fixture-carried'] = { version: listedVersion, inBundle: true };
    // pnpm 9.15.9 writes `resolution: {tarball: URL}`, which vendor refuses for want of an integrity; with one, as here, it is fetched.
    const pnpmLock = [
      "lockfileVersion: '9.0'", '', 'settings:', '  autoInstallPeers: true', '  excludeLinksFromLockfile: false', '',
      'importers:', '', '  .:', '    dependencies:', '      carrier:', `        specifier: ${url}`, `        version: ${url}`, '',
      'packages:', '', `  carrier@${url}:`, `    resolution: {integrity: ${carrier.integrity}, tarball: ${url}}`, '    version: 1.0.0', '',
      'snapshots:', '', `  carrier@${url}: {}`, '',
    ].join('\n');
    // What yarn 1.22.22 writes for it.
    const yarnLock = `# yarn lockfile v1\n\n\n"carrier@${url}":\n  version "1.0.0"\n  resolved "${url}"\n  integrity ${carrier.integrity}\n`;
    const app = tempTree('npm-url-carrier-app', {
      'package.json': json({ name: 'app', version: '1.0.0', dependencies: { carrier: url } }),
      ...(manager === 'npm' ? { 'package-lock.json': json({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }) } : manager === 'pnpm' ? { 'pnpm-lock.yaml': pnpmLock } : { 'yarn.lock': yarnLock }),
    });
    const out = join(tempDir('npm-url-carrier-out'), 'vendor.tar.zst');
    const r = await runCliAsync(['vendor', app, '-o', out, '--db', GHSA_NPM], { cacheDir: tempDir('npm-url-carrier-cache') });
    return { status: r.status, stderr: r.stderr, out };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test('vendor refuses a URL tarball carrying packages the lockfile does not list', async () => {
  const r = await vendorWith(false);
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /package-lock\.json: node_modules\/carrier: the tarball http:\/\/127\.0\.0\.1:\d+\/carrier-1\.0\.0\.tgz carries node_modules\/fixture-carried \(fixture-carried@1\.0\.0\), which the package manager installs with it and the lockfile does not list, so they were not audited/,
  );
  assert.equal(existsSync(r.out), false);
});

test('vendor takes a URL tarball whose carried packages the lockfile lists as bundled', async () => {
  const r = await vendorWith(true);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(r.out), true);
});

test('vendor refuses a URL tarball whose bundled package the lockfile lists at another version', async () => {
  // npm 11.19 installs the bundle as the tarball holds it: an inBundle entry saying minimist 1.2.6
  // over a tarball carrying 1.2.0 installs 1.2.0, and the audit read 1.2.6 (exit 0).
  const r = await vendorWith(true, 'npm', '2.0.0');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /package-lock\.json: node_modules\/carrier: the tarball http:\/\/127\.0\.0\.1:\d+\/carrier-1\.0\.0\.tgz carries node_modules\/fixture-carried \(fixture-carried@1\.0\.0\)/);
  assert.equal(existsSync(r.out), false);
});

test('vendor refuses a pnpm URL tarball carrying packages: pnpm installs them, and its lockfile lists none', async () => {
  const r = await vendorWith(false, 'pnpm');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /pnpm-lock\.yaml: carrier@1\.0\.0: the tarball http:\/\/127\.0\.0\.1:\d+\/carrier-1\.0\.0\.tgz carries node_modules\/fixture-carried \(fixture-carried@1\.0\.0\)/);
  assert.equal(existsSync(r.out), false);
});

test('vendor refuses a yarn 1 URL tarball carrying packages: yarn installs them, and its lockfile lists none', async () => {
  // yarn 1.22.22 installs node_modules/carrier/node_modules/minimist 1.2.0 from carrier's http tarball.
  const r = await vendorWith(false, 'yarn');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /yarn\.lock: carrier@1\.0\.0: the tarball http:\/\/127\.0\.0\.1:\d+\/carrier-1\.0\.0\.tgz carries node_modules\/fixture-carried \(fixture-carried@1\.0\.0\)/);
  assert.equal(existsSync(r.out), false);
});
