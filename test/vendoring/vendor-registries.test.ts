import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RegistryAllowance } from '../../src/core/registry-allowance.js';
import { findLockfiles, readDependencyGraph } from '../../src/inputs/lockfiles.js';
import { vendorGraphs } from '../../src/vendoring/vendor-app.js';
import { tempDir } from '../support/shared.js';

/**
 * A campaign's vendor step downloads what the application's lockfile names: each `resolved`
 * tarball URL and git repository. Bounded to the registries the fleet allows, it asks nothing
 * else, not even by a redirect of an allowed one.
 */

const seen: string[] = [];
let internal: Server;
let redirecting: Server;
let internalUrl = '';
let redirectingUrl = '';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

before(async () => {
  internal = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(200).end('secret');
  });
  internalUrl = await listen(internal);
  redirecting = createServer((req, res) => void res.writeHead(302, { location: `${internalUrl}latest/meta-data${req.url ?? '/'}` }).end());
  redirectingUrl = await listen(redirecting);
});

after(async () => {
  await new Promise<void>((resolve) => internal.close(() => resolve()));
  await new Promise<void>((resolve) => redirecting.close(() => resolve()));
});

/** An application whose package-lock locks `left` from `resolved`. */
function appResolvedAt(resolved: string): string {
  const dir = tempDir('vendor-registries');
  const dependencies = { left: '1.0.0' };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies }));
  const packages = {
    '': { name: 'app', version: '1.0.0', dependencies },
    'node_modules/left': { version: '1.0.0', resolved, integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}`, license: 'MIT' },
  };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
  return dir;
}

/** A Rust application whose Cargo.lock locks `left` from a git repository at `url`. */
function appWithGitCrate(url: string): string {
  const dir = tempDir('vendor-registries-git');
  writeFileSync(join(dir, 'Cargo.toml'), `[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nleft = { git = "${url}" }\n`);
  const lock = ['version = 3', '', '[[package]]', 'name = "app"', 'version = "0.1.0"', 'dependencies = [', ' "left",', ']', '', '[[package]]', 'name = "left"', 'version = "1.0.0"', `source = "git+${url}#${'a'.repeat(40)}"`, ''];
  writeFileSync(join(dir, 'Cargo.lock'), lock.join('\n'));
  return dir;
}

async function vendorWithin(dir: string, allowed: string[]): Promise<unknown> {
  const locations = findLockfiles(dir);
  const graphs = await Promise.all(locations.map((l) => readDependencyGraph(l)));
  const cacheRoot = join(tempDir('vendor-registries-cache'), 'cache');
  mkdirSync(cacheRoot, { recursive: true });
  return vendorGraphs(dir, { locations, graphs }, { env: {}, warn: () => undefined, cacheRoot, registries: new RegistryAllowance(allowed) });
}

test("a campaign's vendor step downloads nothing from an address the fleet does not allow: not a lockfile's tarball URL, a git repository, or a redirect's target", async () => {
  for (const [app, allowed, says] of [
    [appResolvedAt(`${internalUrl}left/-/left-1.0.0.tgz`), [], /http:\/\/127\.0\.0\.1:\d+\/left\/-\/left-1\.0\.0\.tgz is not a registry this fleet allows/],
    [appWithGitCrate(`${internalUrl}someone/left.git`), [], /git source http:\/\/127\.0\.0\.1:\d+\/someone\/left\.git is not a registry this fleet allows/],
    [appResolvedAt(`${redirectingUrl}left/-/left-1.0.0.tgz`), [redirectingUrl], /redirects to http:\/\/127\.0\.0\.1:\d+\/latest\/meta-data\/left\/-\/left-1\.0\.0\.tgz is not a registry this fleet allows/],
  ] as const) {
    await assert.rejects(vendorWithin(app, [...allowed]), (err: Error) => {
      assert.match(err.message, says, app);
      return true;
    });
    assert.deepEqual(seen, [], `${app}: the internal address was asked`);
  }
});
