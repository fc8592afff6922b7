/**
 * `stowage fix` on a direct dependency the root's package.json does not declare as NAME: one a
 * workspace member declares (`packages/a/package.json`), and one declared under an alias
 * (`"my-args": "npm:fixture-args@~1.2.5"`). npm 11 writes a plain `npm install NAME@VERSION`
 * into the root's package.json as a new requirement, and leaves the vulnerable copy locked; the
 * plan's command names the member (`-w packages/a`) and the alias (`my-args@npm:fixture-args@V`).
 * Everything is served by a registry on 127.0.0.1 (test/support/npm-registry.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { fixtureArgsAdvisoryDb } from '../support/advisory-fixtures.js';
import { FIX_REGISTRY_FIXTURES, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { cleanEnv } from '../support/npm-vendor.js';
import { runCliAsync, tempDir } from '../support/shared.js';

const execFileAsync = promisify(execFile);

interface Plan {
  package: { name: string; version: string };
  fix: { to: string | null; command: string | null; manifest: unknown; manifests: unknown[]; caveat: string | null };
}

type Manifest = Record<string, unknown> & { dependencies?: Record<string, string> };

const FLAGS = '--package-lock-only --ignore-scripts --no-audit --no-fund';

describe('stowage fix: a direct dependency of a workspace member, or under an alias', () => {
  const scratch = tempDir('fix-npm-workspace');
  const db = fixtureArgsAdvisoryDb(join(scratch, 'db'));
  const env = cleanEnv({ NO_COLOR: '1', HOME: join(scratch, 'home'), npm_config_cache: join(scratch, 'npm-cache'), npm_config_update_notifier: 'false' });
  let registry: LocalRegistry;
  const cli = (args: string[]) => runCliAsync([...args, '--db', db], { cacheDir: join(scratch, 'cache'), env });
  const npm = (cwd: string, ...args: string[]) => execFileAsync('npm', [...args, ...FLAGS.split(' ')], { cwd, env, encoding: 'utf8' });
  const read = (path: string): Manifest => JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  const locked = (app: string): Record<string, string> => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; link?: boolean }> };
    return Object.fromEntries(Object.entries(lock.packages).flatMap(([k, v]) => (k.includes('node_modules/') && v.link !== true ? [[k, v.version ?? '']] : [])));
  };

  /**
   * A project locked by npm with fixture-args 1.2.5 exact in each of `manifests` (path → package.json),
   * then each requirement widened to `~1.2.5` (package.json and the lockfile's entry alike), as a
   * project that locked 1.2.5 back then reads.
   */
  const project = async (name: string, manifests: Record<string, Manifest>): Promise<string> => {
    const app = join(scratch, name);
    for (const [location, manifest] of Object.entries(manifests)) {
      mkdirSync(join(app, location), { recursive: true });
      writeFileSync(join(app, location, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
    }
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    await npm(app, 'install');
    const widen = (deps: Record<string, string> | undefined): void => {
      for (const [k, v] of Object.entries(deps ?? {})) if (v.endsWith('1.2.5')) deps![k] = v.replace(/1\.2\.5$/, '~1.2.5');
    };
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, Manifest> };
    for (const location of Object.keys(manifests)) {
      const manifest = read(join(app, location, 'package.json'));
      widen(manifest.dependencies);
      writeFileSync(join(app, location, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
      widen(lock.packages[location]?.dependencies);
    }
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
    return app;
  };

  before(async () => {
    // The fix tests' packages, and one that depends on fixture-args under an alias of its own.
    const fixtures = join(scratch, 'registry');
    cpSync(FIX_REGISTRY_FIXTURES, fixtures, { recursive: true });
    const aliasing = join(fixtures, 'fixture-alias-user-1.0.0');
    mkdirSync(aliasing);
    writeFileSync(
      join(aliasing, 'package.json'),
      JSON.stringify({ name: 'fixture-alias-user', version: '1.0.0', main: 'index.js', license: 'MIT', dependencies: { 'its-args': 'npm:fixture-args@^1.2.5' } }, null, 2) + '\n',
    );
    writeFileSync(join(aliasing, 'index.js'), "module.exports = require('its-args');\n");
    registry = await startLocalRegistry(fixtures);
  });
  after(async () => {
    await registry.close();
  });

  const workspace = (name: string, members: Record<string, Manifest>): Promise<string> =>
    project(name, { '': { name, version: '1.0.0', private: true, workspaces: Object.keys(members) }, ...members });

  test("a workspace member's dependency: npm install -w MEMBER moves the member's requirement, the root's package.json stays as it was", async () => {
    const members = { 'packages/a': { name: 'a', version: '1.0.0', dependencies: { 'fixture-args': '1.2.5' } } };
    const app = await workspace('ws-app', members);
    const rootBefore = readFileSync(join(app, 'package.json'), 'utf8');
    // What npm does with the command at the root without -w: a new requirement in the root's package.json.
    const probe = join(scratch, 'ws-probe');
    cpSync(app, probe, { recursive: true });
    await npm(probe, 'install', '--save-prefix=~', 'fixture-args@1.2.6');
    assert.equal(read(join(probe, 'package.json')).dependencies?.['fixture-args'], '~1.2.6');
    assert.equal(read(join(probe, 'packages/a/package.json')).dependencies?.['fixture-args'], '~1.2.5');

    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = (JSON.parse(run.stdout) as { plans: Plan[] }).plans;
    assert.equal(plan?.fix.command, `npm install ${FLAGS} -w packages/a --save-prefix=~ fixture-args@1.2.6`);
    assert.deepEqual(plan?.fix.manifest, { file: 'packages/a/package.json', field: 'dependencies', key: 'fixture-args', from: '~1.2.5', to: '~1.2.6' });
    const human = await cli(['fix', app]);
    assert.match(human.stdout, /^ {7}packages\/a\/package\.json: dependencies "fixture-args" "~1\.2\.5" → "~1\.2\.6"$/m);

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(locked(app), { 'node_modules/fixture-args': '1.2.6' });
    assert.equal(read(join(app, 'packages/a/package.json')).dependencies?.['fixture-args'], '~1.2.6');
    assert.equal(readFileSync(join(app, 'package.json'), 'utf8'), rootBefore);
  });

  test('two members declaring it: the command names both, and npm moves both requirements', async () => {
    const dep = (n: string): Manifest => ({ name: n, version: '1.0.0', dependencies: { 'fixture-args': '1.2.5' } });
    const app = await workspace('ws-two', { 'packages/a': dep('a'), 'packages/b': dep('b') });
    const rootBefore = readFileSync(join(app, 'package.json'), 'utf8');
    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = (JSON.parse(run.stdout) as { plans: Plan[] }).plans;
    assert.equal(plan?.fix.command, `npm install ${FLAGS} -w packages/a -w packages/b --save-prefix=~ fixture-args@1.2.6`);

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(locked(app), { 'node_modules/fixture-args': '1.2.6' });
    for (const member of ['a', 'b']) assert.equal(read(join(app, `packages/${member}/package.json`)).dependencies?.['fixture-args'], '~1.2.6');
    assert.equal(readFileSync(join(app, 'package.json'), 'utf8'), rootBefore);
  });

  test('several manifests declaring the copy: the plan names each one the command writes, not the first alone', async () => {
    const dep = (n: string): Manifest => ({ name: n, version: '1.0.0', dependencies: { 'fixture-args': '1.2.5' } });
    const app = await workspace('ws-several', { 'packages/a': dep('a'), 'packages/b': dep('b') });
    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = (JSON.parse(run.stdout) as { plans: Plan[] }).plans;
    const entry = { field: 'dependencies', key: 'fixture-args', from: '~1.2.5', to: '~1.2.6' };
    assert.deepEqual(plan?.fix.manifests, [
      { file: 'packages/a/package.json', ...entry },
      { file: 'packages/b/package.json', ...entry },
    ]);
    assert.deepEqual(plan?.fix.manifest, plan?.fix.manifests[0]);
    const human = await cli(['fix', app]);
    assert.match(human.stdout, /^ {7}packages\/a\/package\.json: dependencies "fixture-args" "~1\.2\.5" → "~1\.2\.6"\n {7}packages\/b\/package\.json: dependencies "fixture-args" "~1\.2\.5" → "~1\.2\.6"$/m);

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    for (const member of ['a', 'b']) assert.equal(read(join(app, `packages/${member}/package.json`)).dependencies?.['fixture-args'], '~1.2.6');
  });

  test('a file: directory of the project that is no workspace member: npm update moves its dependency (npm install -w refuses the directory)', async () => {
    const app = await project('file-dir', {
      '': { name: 'file-dir', version: '1.0.0', private: true, dependencies: { lib: 'file:lib' } },
      lib: { name: 'lib', version: '1.0.0', dependencies: { 'fixture-args': '1.2.5' } },
    });
    const manifests = ['package.json', 'lib/package.json'].map((f) => readFileSync(join(app, f), 'utf8'));
    // What npm says to -w with a directory that is not a workspace.
    const probe = join(scratch, 'file-dir-probe');
    cpSync(app, probe, { recursive: true });
    await assert.rejects(npm(probe, 'install', '-w', 'lib', 'fixture-args@1.2.6'), /No workspaces found/);

    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = (JSON.parse(run.stdout) as { plans: Plan[] }).plans;
    assert.equal(plan?.fix.command, `npm update fixture-args ${FLAGS}`);
    assert.deepEqual(plan?.fix.manifests, []);
    assert.match(plan?.fix.caveat ?? '', /^npm update moves fixture-args to the newest version/);

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(locked(app), { 'node_modules/fixture-args': '1.2.6' });
    assert.deepEqual(['package.json', 'lib/package.json'].map((f) => readFileSync(join(app, f), 'utf8')), manifests);
  });

  test('a transitive dependency under an alias: npm update takes the alias, the name it is installed under', async () => {
    const app = await project('alias-transitive', { '': { name: 'alias-transitive', version: '1.0.0', private: true, dependencies: { 'fixture-alias-user': '1.0.0' } } });
    // Locked back when 1.2.5 was the newest: the lockfile's entry for the alias as npm wrote it then.
    const lockPath = join(app, 'package-lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const entry = lock.packages['node_modules/its-args'] as Record<string, unknown>;
    assert.equal(entry.version, '1.2.6');
    const old = registry.packages.find((p) => p.name === 'fixture-args' && p.version === '1.2.5');
    Object.assign(entry, { version: '1.2.5', resolved: String(entry.resolved).replace('1.2.6', '1.2.5'), integrity: old?.integrity });
    writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
    // npm update with the package's own name moves nothing.
    const probe = join(scratch, 'alias-transitive-probe');
    cpSync(app, probe, { recursive: true });
    await npm(probe, 'update', 'fixture-args');
    assert.equal(locked(probe)['node_modules/its-args'], '1.2.5');

    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = (JSON.parse(run.stdout) as { plans: Plan[] }).plans;
    assert.equal(plan?.fix.command, `npm update its-args ${FLAGS}`);
    assert.match(plan?.fix.caveat ?? '', /^npm update moves its-args \(fixture-args\) to the newest version/);

    // With --allow-overrides: an override under the alias (npm leaves the alias as it was for "fixture-args@1.2.5").
    const overridden = join(scratch, 'alias-transitive-overrides');
    cpSync(app, overridden, { recursive: true });
    const planned = await cli(['fix', overridden, '--allow-overrides', '--format', 'json']);
    const [withOverride] = (JSON.parse(planned.stdout) as { plans: Plan[] }).plans;
    assert.deepEqual(withOverride?.fix.manifests, [{ file: 'package.json', field: 'overrides', key: 'its-args@1.2.5', from: null, to: 'npm:fixture-args@1.2.6' }]);
    const viaOverride = await cli(['fix', overridden, '--apply', '--allow-overrides', '--format', 'json']);
    assert.equal(viaOverride.status, 0, viaOverride.stdout);
    assert.deepEqual(locked(overridden), { 'node_modules/fixture-alias-user': '1.0.0', 'node_modules/its-args': '1.2.6' });

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stdout);
    assert.deepEqual(locked(app), { 'node_modules/fixture-alias-user': '1.0.0', 'node_modules/its-args': '1.2.6' });
  });

  test("a change npm refuses puts the member's package.json back as it was, as it does the lockfile", async () => {
    const app = await workspace('ws-refused', { 'packages/a': { name: 'a', version: '1.0.0', dependencies: { 'fixture-args': '1.2.5' } } });
    const before = ['package-lock.json', 'package.json', 'packages/a/package.json'].map((f) => readFileSync(join(app, f), 'utf8'));
    // An npm that writes the member's manifest, then fails (as a registry gone mid-install leaves it).
    const bin = join(scratch, 'failing-npm');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'npm'), '#!/bin/sh\necho \'{"name": "a", "half": "written"\' > packages/a/package.json\necho "npm error boom" >&2\nexit 1\n');
    chmodSync(join(bin, 'npm'), 0o755);
    const applied = await runCliAsync(['fix', app, '--apply', '--db', db], { cacheDir: join(scratch, 'cache'), env: { ...env, PATH: `${bin}:${env.PATH ?? ''}` } });
    assert.equal(applied.status, 2, applied.stderr);
    assert.match(applied.stderr, /failed: npm error boom/);
    assert.deepEqual(['package-lock.json', 'package.json', 'packages/a/package.json'].map((f) => readFileSync(join(app, f), 'utf8')), before);
  });

  test('a dependency under an alias: npm install ALIAS@npm:NAME@VERSION moves the alias, and adds no NAME beside it', async () => {
    const app = await project('alias-app', { '': { name: 'alias-app', version: '1.0.0', private: true, dependencies: { 'my-args': 'npm:fixture-args@1.2.5' } } });
    assert.deepEqual(locked(app), { 'node_modules/my-args': '1.2.5' });
    // What npm does with NAME@VERSION: a new fixture-args beside the alias, which stays at 1.2.5.
    const probe = join(scratch, 'alias-probe');
    cpSync(app, probe, { recursive: true });
    await npm(probe, 'install', '--save-prefix=~', 'fixture-args@1.2.6');
    assert.deepEqual(read(join(probe, 'package.json')).dependencies, { 'fixture-args': '~1.2.6', 'my-args': 'npm:fixture-args@~1.2.5' });
    assert.deepEqual(locked(probe), { 'node_modules/fixture-args': '1.2.6', 'node_modules/my-args': '1.2.5' });

    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = (JSON.parse(run.stdout) as { plans: Plan[] }).plans;
    assert.equal(plan?.fix.command, `npm install ${FLAGS} --save-prefix=~ my-args@npm:fixture-args@1.2.6`);
    assert.deepEqual(plan?.fix.manifest, { file: 'package.json', field: 'dependencies', key: 'my-args', from: 'npm:fixture-args@~1.2.5', to: 'npm:fixture-args@~1.2.6' });

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(locked(app), { 'node_modules/my-args': '1.2.6' });
    assert.deepEqual(read(join(app, 'package.json')).dependencies, { 'my-args': 'npm:fixture-args@~1.2.6' });
  });
});
