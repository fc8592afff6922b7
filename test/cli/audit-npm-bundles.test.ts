import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/*
 * Bundled dependencies come inside their package's tarball, and npm and pnpm install them as
 * they are there. Checked with npm@6.14.0 (which bundles ssri 6.0.1 and tar 4.4.13, both with
 * advisories): pnpm 9.15.9 writes only their names into pnpm-lock.yaml and installs them under
 * node_modules/.pnpm/npm@6.14.0/node_modules/npm/node_modules; npm 11 writes `inBundle` entries
 * for them, and `npm ci` installs them from the tarball even when those entries are gone. A
 * lockfile that does not list them cannot be audited in full.
 */

const cacheDir = tempDir('cli-npm-bundles-cache');

interface Report {
  targets: { partial: boolean }[];
  findings: { package: { name: string; version: string } }[];
  warnings: string[];
}

function auditFile(name: string, text: string, args: string[] = []): { status: number; stderr: string; report: Report | null } {
  const dir = tempDir('cli-npm-bundles');
  writeFileSync(join(dir, name), text);
  const r = runCli(['audit', '--format', 'json', join(dir, name), '--db', GHSA_NPM, ...args], { cacheDir });
  return { status: r.status, stderr: r.stderr, report: r.stdout ? (JSON.parse(r.stdout) as Report) : null };
}

/** pnpm 9.15.9's lockfile for `"dependencies": {"npm": "6.14.0"}`, its 123 bundled names cut to three. */
function pnpmLock(optional: boolean): string {
  const section = optional ? 'optionalDependencies' : 'dependencies';
  return `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    ${section}:
      npm:
        specifier: 6.14.0
        version: 6.14.0

packages:

  npm@6.14.0:
    resolution: {integrity: sha512-OgfdLadz7j6dikbpaimmLzMxwLKbXthQXHiJwtegorwtBVnhecfUeYkHopwd5ICaiClQnqlYQCHERXDiYK3Jcw==}
    engines: {node: 6 >=6.2.0 || 8 || >=9.3.0}
    hasBin: true
    bundledDependencies:
      - abbrev
      - ssri
      - tar

snapshots:

  npm@6.14.0:${optional ? '\n    optional: true' : ' {}'}
`;
}

const NPM_ENTRY = {
  version: '6.14.0',
  resolved: 'https://registry.npmjs.org/npm/-/npm-6.14.0.tgz',
  integrity: 'sha512-OgfdLadz7j6dikbpaimmLzMxwLKbXthQXHiJwtegorwtBVnhecfUeYkHopwd5ICaiClQnqlYQCHERXDiYK3Jcw==',
  bundleDependencies: ['ssri'],
  license: 'Artistic-2.0',
  dependencies: { ssri: '^6.0.1' },
};
const SSRI_IN_BUNDLE = { version: '6.0.1', inBundle: true, license: 'ISC', dependencies: { 'figgy-pudding': '^3.5.1' } };

/** npm 11's lockfile for the same dependency, cut to ssri; `bundled` holds the entries kept of what npm wrote inside the bundle. */
function packageLock(bundled: Record<string, unknown>, npmEntry: Record<string, unknown> = NPM_ENTRY): string {
  return JSON.stringify(
    {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', version: '1.0.0', dependencies: { npm: '6.14.0' } }, 'node_modules/npm': npmEntry, ...bundled },
    },
    null,
    2,
  );
}

test('pnpm-lock.yaml: a package that bundles dependencies makes the inventory partial, refused unless --allow-partial', () => {
  const refused = auditFile('pnpm-lock.yaml', pnpmLock(false));
  assert.equal(refused.status, 2, refused.stderr);
  assert.equal(refused.report, null);
  assert.match(refused.stderr, /pnpm-lock\.yaml: a package bundles dependencies that the lockfile does not list, which pnpm installs from its tarball as they are: npm@6\.14\.0 \(abbrev, ssri, tar\): a partial inventory; refused \(pass --allow-partial/);
  assert.equal(refused.stderr.trim().split('\n').length, 1);

  const allowed = auditFile('pnpm-lock.yaml', pnpmLock(false), ['--allow-partial']);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.equal(allowed.report?.targets[0]?.partial, true);
  assert.ok(allowed.report?.warnings.some((w) => w.includes('PARTIAL inventory (lockfile)') && w.includes('npm@6.14.0 (abbrev, ssri, tar)')));
});

test('pnpm-lock.yaml: an optional package that bundles dependencies is audited without them, with a warning naming them', () => {
  // As @tailwindcss/oxide-wasm32-wasi in every Tailwind 4 lockfile: installed on one platform only.
  const r = auditFile('pnpm-lock.yaml', pnpmLock(true));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.report?.targets[0]?.partial, false);
  assert.ok(r.report?.warnings.some((w) => /an optional package bundles dependencies that the lockfile does not list, NOT audited .*npm@6\.14\.0 \(abbrev, ssri, tar\)/.test(w)));
});

test('package-lock.json: bundled dependencies without their inBundle entries are refused (npm ci installs them), with them audited', () => {
  const stripped = auditFile('package-lock.json', packageLock({}));
  assert.equal(stripped.status, 2, stripped.stderr);
  assert.match(stripped.stderr, /package-lock\.json: a package bundles dependencies that the lockfile does not list, which npm installs from its tarball as they are: node_modules\/npm \(ssri\): a partial inventory; refused/);

  const listed = auditFile('package-lock.json', packageLock({ 'node_modules/npm/node_modules/ssri': SSRI_IN_BUNDLE }));
  assert.equal(listed.status, 1, listed.stderr);
  assert.deepEqual([...new Set(listed.report?.findings.map((f) => `${f.package.name}@${f.package.version}`))], ['ssri@6.0.1']);

  // `bundleDependencies: true` bundles every dependency.
  const all = auditFile('package-lock.json', packageLock({}, { ...NPM_ENTRY, bundleDependencies: true }));
  assert.equal(all.status, 2, all.stderr);
  assert.match(all.stderr, /node_modules\/npm \(ssri\)/);
  const none = auditFile('package-lock.json', packageLock({}, { ...NPM_ENTRY, bundleDependencies: false }));
  assert.equal(none.status, 0, none.stderr);
});

test('package-lock.json: --omit optional keeps what a bundle holds whatever its entries are marked, as npm ci unpacks the bundle whole', () => {
  // npm 11.19.1's lockfile for `"dependencies": {"npm": "6.14.0"}` marks the bundled tweetnacl,
  // jsbn, ecc-jsbn, bcrypt-pbkdf and colors `"optional": true, "inBundle": true` (sshpk's and
  // cli-table3's optional dependencies), and `npm ci --omit=optional` installs all five from
  // npm's tarball. Cut here to ssri, marked the same way.
  const optionalInBundle = { ...SSRI_IN_BUNDLE, optional: true };
  const npmEntry = { ...NPM_ENTRY, dependencies: {}, optionalDependencies: { ssri: '^6.0.1' } };
  const kept = auditFile('package-lock.json', packageLock({ 'node_modules/npm/node_modules/ssri': optionalInBundle }, npmEntry), ['--omit', 'optional']);
  assert.equal(kept.status, 1, kept.stderr);
  assert.deepEqual([...new Set(kept.report?.findings.map((f) => `${f.package.name}@${f.package.version}`))], ['ssri@6.0.1']);

  // The bundle goes with its bundler: an optional npm leaves its bundle out under --omit optional.
  const optionalBundler = JSON.parse(packageLock({ 'node_modules/npm/node_modules/ssri': optionalInBundle }, { ...npmEntry, optional: true })) as {
    packages: Record<string, Record<string, unknown>>;
  };
  optionalBundler.packages[''] = { name: 'app', version: '1.0.0', optionalDependencies: { npm: '6.14.0' } };
  const omitted = auditFile('package-lock.json', JSON.stringify(optionalBundler), ['--omit', 'optional']);
  assert.equal(omitted.status, 0, omitted.stderr);
  assert.deepEqual(omitted.report?.findings, []);
});

test('pnpm-lock.yaml: a bundling package only a dev dependency needs as optional is optional too: audited without its bundle, with a warning', () => {
  // As create-next-app's default: tailwindcss is a dev dependency, and @tailwindcss/oxide needs
  // @tailwindcss/oxide-wasm32-wasi (which bundles @napi-rs/wasm-runtime and more) as optional.
  // Here `a` stands for @tailwindcss/oxide and npm@6.14.0 for the bundling package.
  const text = pnpmLock(true)
    .replace('  .:\n    optionalDependencies:\n      npm:\n        specifier: 6.14.0\n        version: 6.14.0', '  .:\n    devDependencies:\n      a:\n        specifier: 1.0.0\n        version: 1.0.0')
    .replace('packages:\n', 'packages:\n\n  a@1.0.0:\n    resolution: {integrity: sha512-AAAA}\n')
    .replace('snapshots:\n', 'snapshots:\n\n  a@1.0.0:\n    optionalDependencies:\n      npm: 6.14.0\n');
  assert.match(text, /devDependencies:\n {6}a:/);
  const r = auditFile('pnpm-lock.yaml', text);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.report?.targets[0]?.partial, false);
  assert.ok(r.report?.warnings.some((w) => /an optional package bundles dependencies that the lockfile does not list, NOT audited .*npm@6\.14\.0 \(abbrev, ssri, tar\)/.test(w)));
});

test('a dev dependency that bundles unlisted dependencies is not audited under --omit dev, so it does not make the inventory partial; --omit optional does not leave it out', () => {
  // pnpm 9 and npm 11 install a dev dependency's bundle with it, and `--omit dev` (as `pnpm
  // install --prod` and `npm ci --omit=dev`) leaves both out: what is audited is complete.
  const pnpmDev = pnpmLock(false).replace('  .:\n    dependencies:', '  .:\n    devDependencies:');
  assert.match(pnpmDev, / {4}devDependencies:\n {6}npm:/);
  const npmDev = JSON.parse(packageLock({}, { ...NPM_ENTRY, dev: true })) as { packages: Record<string, Record<string, unknown>> };
  npmDev.packages[''] = { name: 'app', version: '1.0.0', devDependencies: { npm: '6.14.0' } };
  for (const [name, text] of [
    ['pnpm-lock.yaml', pnpmDev],
    ['package-lock.json', JSON.stringify(npmDev)],
  ] as const) {
    const whole = auditFile(name, text);
    assert.equal(whole.status, 2, `${name}: ${whole.stderr}`);
    assert.match(whole.stderr, /a partial inventory; refused/);
    const optional = auditFile(name, text, ['--omit', 'optional']);
    assert.equal(optional.status, 2, `${name}: ${optional.stderr}`);

    const shipped = auditFile(name, text, ['--omit', 'dev']);
    assert.equal(shipped.status, 0, `${name}: ${shipped.stderr}`);
    assert.equal(shipped.report?.targets[0]?.partial, false, name);
    assert.ok(!shipped.report?.warnings.some((w) => w.includes('PARTIAL')), `${name}: ${shipped.report?.warnings.join('\n')}`);
  }

  // A runtime dependency bundling unlisted dependencies beside it is still refused under --omit dev.
  const both = pnpmDev
    .replace('  .:\n    devDependencies:', '  .:\n    dependencies:\n      left:\n        specifier: 1.0.0\n        version: 1.0.0\n    devDependencies:')
    .replace('packages:\n', 'packages:\n\n  left@1.0.0:\n    resolution: {integrity: sha512-AAAA}\n    bundledDependencies:\n      - right\n')
    .replace('snapshots:\n', 'snapshots:\n\n  left@1.0.0: {}\n');
  const refused = auditFile('pnpm-lock.yaml', both, ['--omit', 'dev']);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /left@1\.0\.0 \(right\)/);
});

/**
 * npm 11.19.1's lockfile for `"dependencies": {"foo": "file:../foo-1.0.0.tgz"}`, a tarball whose
 * package.json asks for `minimist@^1.2.0` and whose npm-shrinkwrap.json locks minimist 1.2.5;
 * `flags` are added to foo's entry (`hasShrinkwrap`, as the registry's `_hasShrinkwrap` makes
 * npm write it for a registry package published with a shrinkwrap).
 */
function shrinkwrappedLock(flags: Record<string, unknown>, fooFlags: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'app', version: '1.0.0', dependencies: { foo: 'file:../foo-1.0.0.tgz' } },
      'node_modules/foo': {
        version: '1.0.0',
        resolved: 'file:../foo-1.0.0.tgz',
        integrity: 'sha512-UjnHttItI2gpyJOldI1zjoDI/Bj6dln5Wi8KDXLmO15drrSnSGSEfAr3MLoDC3XYo1bNVd1EmA2qYsarau8Xaw==',
        dependencies: { minimist: '^1.2.0' },
        ...fooFlags,
        ...flags,
      },
      'node_modules/minimist': {
        version: '1.2.8',
        integrity: 'sha512-2yyAR8qBkN3YuheJanUpWC5U3bb5osDywNB8RzDVlDwDHbocAJveqqj1u8+SVD7jkWT4yvsHCpWqqWqAxb0zCA==',
        license: 'MIT',
      },
    },
  });
}

test('package-lock.json: a package marked hasShrinkwrap makes the inventory partial: npm ci installs its dependencies from the shrinkwrap in its tarball', () => {
  // Checked with npm 11.19.1: `npm ci` of the lockfile above, foo marked `"hasShrinkwrap": true`,
  // installs node_modules/foo/node_modules/minimist 1.2.5 (GHSA-xvch-5gv4-984h) from foo's own
  // npm-shrinkwrap.json, which the lockfile does not name; so for `"_hasShrinkwrap": true` and
  // `"hasShrinkwrap": "no"` (arborist takes any true value), and not for `"hasShrinkwrap": 0`.
  for (const flags of [{ hasShrinkwrap: true }, { _hasShrinkwrap: true }, { hasShrinkwrap: 'no' }]) {
    const refused = auditFile('package-lock.json', shrinkwrappedLock(flags));
    assert.equal(refused.status, 2, `${JSON.stringify(flags)}: ${refused.stderr}`);
    assert.equal(refused.report, null);
    assert.match(refused.stderr, /package-lock\.json: a package is marked hasShrinkwrap, so npm installs its dependencies from the npm-shrinkwrap\.json inside its tarball, not from the lockfile: node_modules\/foo: a partial inventory; refused \(pass --allow-partial/);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
  }
  const allowed = auditFile('package-lock.json', shrinkwrappedLock({ hasShrinkwrap: true }), ['--allow-partial']);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.equal(allowed.report?.targets[0]?.partial, true);

  const unmarked = auditFile('package-lock.json', shrinkwrappedLock({ hasShrinkwrap: 0 }));
  assert.equal(unmarked.status, 0, unmarked.stderr);
  assert.equal(unmarked.report?.targets[0]?.partial, false);
});

test('package-lock.json: an optional package marked hasShrinkwrap is audited without what its shrinkwrap installs, with a warning; a dev one is left out with it under --omit dev', () => {
  const optional = JSON.parse(shrinkwrappedLock({ hasShrinkwrap: true }, { optional: true })) as { packages: Record<string, Record<string, unknown>> };
  optional.packages[''] = { name: 'app', version: '1.0.0', optionalDependencies: { foo: 'file:../foo-1.0.0.tgz' } };
  (optional.packages['node_modules/minimist'] as Record<string, unknown>).optional = true;
  const r = auditFile('package-lock.json', JSON.stringify(optional));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.report?.targets[0]?.partial, false);
  assert.ok(r.report?.warnings.some((w) => /an optional package is marked hasShrinkwrap: what npm installs below it from the npm-shrinkwrap\.json inside the tarball is NOT audited: node_modules\/foo/.test(w)), r.report?.warnings.join('\n'));

  const dev = JSON.parse(shrinkwrappedLock({ hasShrinkwrap: true }, { dev: true })) as { packages: Record<string, Record<string, unknown>> };
  dev.packages[''] = { name: 'app', version: '1.0.0', devDependencies: { foo: 'file:../foo-1.0.0.tgz' } };
  (dev.packages['node_modules/minimist'] as Record<string, unknown>).dev = true;
  assert.equal(auditFile('package-lock.json', JSON.stringify(dev)).status, 2);
  const shipped = auditFile('package-lock.json', JSON.stringify(dev), ['--omit', 'dev']);
  assert.equal(shipped.status, 0, shipped.stderr);
  assert.equal(shipped.report?.targets[0]?.partial, false);
});
