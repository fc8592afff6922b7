/**
 * `stowage package rpm --srpm` for the application locked by pnpm 9, by yarn 4 (berry) and by
 * yarn 1 (classic), its packages served by the npm registry on 127.0.0.1
 * (test/support/npm-registry.ts; the lockfiles are committed, made against it), then `rpmbuild
 * --rebuild` of each source RPM with the network cut and an empty HOME: the spec's %build,
 * %install and %check run the application's own package manager, offline, from the vendor
 * archive alone; the installed command runs.
 *
 * pnpm 9, yarn 4 and yarn 1 come from STOWAGE_TEST_PACKAGE_MANAGERS (see .ci/run); the build's
 * `pnpm` or `yarn` is that very one, by path. Needs rpmbuild and rpm2archive (Debian package
 * rpm). Skipped without them, except with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanEnv, commandDirectory, offline, packageManager, type PackageManagerName } from '../support/npm-vendor.js';
import {
  LOCAL_APP,
  LOCAL_APP_OUTPUT,
  LOCAL_APP_PNPM_LOCKFILE,
  LOCAL_APP_YARN_BERRY_LOCKFILE,
  LOCAL_APP_YARN_V1_LOCKFILE,
  startLocalRegistry,
  type LocalRegistry,
} from '../support/npm-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const NAME = 'stowage-npm-local-app';
const noRpmbuild = spawnSync('rpmbuild', ['--version']).status === 0 ? null : 'rpmbuild is not installed (Debian package rpm)';
const mustRun = process.env.CI === 'true';
const scratch = tempDir('package-js-managers');
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Case {
  label: string;
  tool: PackageManagerName;
  /** The command the spec runs it as. */
  command: 'pnpm' | 'yarn';
  /** The lockfile's name in the application and its text for this run's registry. */
  lockfile: (registry: LocalRegistry) => { name: string; text: string };
  /** The settings file that names the registry: `.npmrc`, `.yarnrc.yml` or `.yarnrc`. */
  settings: (registry: LocalRegistry) => { name: string; text: string };
  buildRequires: string;
  check: string;
  /** What the build's install prints of the package manager's release: the build ran that one. */
  release: RegExp;
}

const cases: Case[] = [
  {
    label: 'pnpm 9',
    tool: 'pnpm',
    command: 'pnpm',
    lockfile: () => ({ name: 'pnpm-lock.yaml', text: readFileSync(LOCAL_APP_PNPM_LOCKFILE, 'utf8') }),
    settings: (r) => ({ name: '.npmrc', text: r.npmrc }),
    buildRequires: '/usr/bin/pnpm',
    check: 'pnpm test',
    release: /^Done in .* using pnpm v9\.15\.9$/m,
  },
  {
    label: 'yarn 4 (berry)',
    tool: 'yarn-berry',
    command: 'yarn',
    lockfile: () => ({ name: 'yarn.lock', text: readFileSync(LOCAL_APP_YARN_BERRY_LOCKFILE, 'utf8') }),
    settings: (r) => ({ name: '.yarnrc.yml', text: r.yarnrc }),
    buildRequires: '/usr/bin/yarn',
    check: 'yarn run test',
    release: /Yarn 4\.9\.2$/m,
  },
  {
    label: 'yarn 1 (classic)',
    tool: 'yarn-classic',
    command: 'yarn',
    // yarn 1 records every tarball's URL: the committed lockfile's, moved to this run's registry.
    lockfile: (r) => ({ name: 'yarn.lock', text: r.lockfileFor(readFileSync(LOCAL_APP_YARN_V1_LOCKFILE, 'utf8')) }),
    settings: (r) => ({ name: '.yarnrc', text: `registry "${r.url}"\n` }),
    buildRequires: '/usr/bin/yarn',
    check: 'yarn test',
    release: /^yarn install v1\.22\.22$/m,
  },
];

describe('package rpm builds pnpm, yarn berry and yarn classic applications with their own package manager, offline', () => {
  let registry: LocalRegistry;
  before(async () => {
    registry = await startLocalRegistry();
  });
  after(() => registry.close());

  for (const c of cases) {
    const tool = packageManager(c.tool);
    const why = noRpmbuild ?? ('missing' in tool ? tool.missing : null);
    test(`${c.label}: the SRPM rebuilds with the network cut, its %check passes, the installed command runs`, { skip: why !== null && !mustRun ? `${why}: skipped` : false, timeout: 900_000 }, async () => {
      if (why !== null || 'missing' in tool) assert.fail(`${why ?? ''}, and CI=true: this test must run`);
      const src = join(scratch, `${c.tool}-src`);
      cpSync(LOCAL_APP, src, { recursive: true });
      rmSync(join(src, 'package-lock.json'));
      const lockfile = c.lockfile(registry);
      writeFileSync(join(src, lockfile.name), lockfile.text);
      const settings = c.settings(registry);
      writeFileSync(join(src, settings.name), settings.text);
      if (c.tool === 'pnpm' || c.tool === 'yarn-classic') {
        // A prepare (pnpm) or postinstall (yarn 1, which runs no prepare with --production) script
        // that needs a development dependency (as `husky install`, `patch-package`): each runs it on
        // every install, so %install's production install, with the development dependencies gone,
        // failed ("Cannot find package 'fixture-devtool'") until it ran with --ignore-scripts.
        const manifest = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
        manifest.scripts[c.tool === 'pnpm' ? 'prepare' : 'postinstall'] = 'node -e "import(\'fixture-devtool\')"';
        writeFileSync(join(src, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
      }

      const out = join(scratch, `${c.tool}-rpm`);
      const packaged = await runCliAsync(['package', 'rpm', src, '--srpm', '-o', out, '--db', unrelatedNpmAdvisoryDb(join(scratch, `${c.tool}-db`))], {
        cacheDir: join(scratch, 'cache'),
        env: cleanEnv({ NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' }),
      });
      assert.equal(packaged.status, 0, `${packaged.stdout}${packaged.stderr}`);
      const spec = readFileSync(join(out, `${NAME}.spec`), 'utf8');
      assert.match(spec, new RegExp(`^BuildRequires: +${c.buildRequires.replaceAll('/', '\\/')}$`, 'm'));
      // %check: the build's environment (no section header between), then the package manager's test.
      assert.match(spec, new RegExp(`^%check\\n%if %\\{with check\\}\\n(?:[^%\\n].*\\n)*${c.check}\\n%endif$`, 'm'));
      assert.doesNotMatch(spec, /^npm ci/m, 'npm does not install a yarn or pnpm application');
      assert.doesNotMatch(spec, /127\.0\.0\.1|registry\.npmjs\.org/, 'no registry URL in the spec');

      const top = join(scratch, `${c.tool}-rpmbuild`);
      const home = join(scratch, `${c.tool}-home`);
      mkdirSync(home);
      const srpm = join(out, `${NAME}-1.0.0-1.src.rpm`);
      const cut = offline(['rpmbuild', '--rebuild', '--nodeps', '--define', `_topdir ${top}`, srpm]);
      const bin = commandDirectory(join(scratch, `${c.tool}-bin`), c.command, tool.path);
      const env = cleanEnv({ HOME: home, PATH: `${bin}:${process.env.PATH ?? ''}`, SOURCE_DATE_EPOCH: '1700000000', ...cut.env });
      const [command, ...args] = cut.argv;
      const build = spawnSync(command as string, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
      const output = `${build.stdout}\n${build.stderr}`;
      assert.equal(build.status, 0, `rpmbuild (network cut with ${cut.how}) failed:\n${output}`);
      assert.match(output, /Executing\(%check\)/);
      assert.match(output, c.release);

      const rpmDir = join(top, 'RPMS');
      const arch = readdirSync(rpmDir)[0] as string;
      const rpm = join(rpmDir, arch, readdirSync(join(rpmDir, arch)).find((f) => f.startsWith(`${NAME}-1.0.0-1`)) as string);
      const root = join(scratch, `${c.tool}-root`);
      mkdirSync(root);
      execFileSync('sh', ['-c', 'rpm2archive - < "$1" | tar -xzf - -C "$2"', 'sh', rpm, root]);
      const appDir = join(root, 'usr', 'lib', 'node_modules', NAME);
      const installed = readdirSync(appDir);
      for (const buildOnly of ['vendor', '.yarn-home', '.pnpm-home', 'stowage-manifest.json']) assert.ok(!installed.includes(buildOnly), `${buildOnly} is not installed`);
      assert.ok(!existsSync(join(appDir, 'node_modules', 'fixture-devtool')), 'the development-only dependency is not installed');
      assert.ok(existsSync(join(appDir, 'node_modules', 'fixture-ms', 'index.js')));
      const run = spawnSync(process.execPath, [join(appDir, 'index.mjs')], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), LOCAL_APP_OUTPUT);
    });
  }
});
