/**
 * NETWORK TEST: `stowage package rpm --srpm` for an application locked by yarn 1, then `rpmbuild
 * --rebuild` of its source RPM with the network cut and an empty HOME: the spec's %build,
 * %install and %check run yarn 1, offline, from the vendor archive alone; the installed command
 * runs. yarn 1 itself is installed from the public registry here (it is not among
 * STOWAGE_TEST_PACKAGE_MANAGERS), and locks the application against it. pnpm 9 and yarn 4 are
 * proven without the network, against the local registry: package-js-managers.test.ts.
 *
 * Needs rpmbuild and rpm2archive (Debian package rpm). Skipped without them or the registry,
 * except with CI=true.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { NPM_APP_OUTPUT, cleanEnv, installFromRegistry, offline, whyNoRegistry } from '../support/npm-vendor.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures');
const YARN_CLASSIC = '1.22.22';

const noRegistry = await whyNoRegistry();
const noRpmbuild = spawnSync('rpmbuild', ['--version']).status === 0 ? null : 'rpmbuild is not installed (Debian package rpm)';
const mustRun = process.env.CI === 'true';
const scratch = tempDir('package-js-managers');
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Case {
  label: string;
  fixture: string;
  name: string;
  /** The directory whose `yarn` or `pnpm` the build runs (put first on PATH). */
  tool: () => string;
  buildRequires: string;
  check: string;
}

/** yarn 1 from the registry, for the yarn v1 case: its lockfile is made here too. */
function yarnClassic(): string {
  const tools = join(scratch, 'yarn-classic');
  installFromRegistry(tools, `yarn@${YARN_CLASSIC}`, join(scratch, 'npm-home'));
  return join(tools, 'node_modules', '.bin', 'yarn');
}

const cases: Case[] = [
  { label: 'yarn 1', fixture: 'npm-app', name: 'stowage-npm-app', tool: yarnClassic, buildRequires: '/usr/bin/yarn', check: 'yarn test' },
];

const why = noRegistry ?? noRpmbuild;
describe('package rpm builds a yarn 1 application with yarn 1, offline (network)', { skip: why !== null && !mustRun ? `${why}: network test skipped` : false }, () => {
  for (const c of cases) {
    test(`${c.label}: the SRPM rebuilds with the network cut, its %check passes, the installed command runs`, { timeout: 900_000 }, async () => {
      if (why !== null) assert.fail(`${why}, and CI=true: this network test must run`);
      const tool = c.tool();
      const src = join(scratch, `${c.fixture}-src`);
      cpSync(join(FIXTURES, c.fixture), src, { recursive: true });
      if (c.fixture === 'npm-app') {
        // The yarn v1 lockfile, made by yarn 1 against the registry.
        const made = spawnSync(tool, ['install', '--ignore-scripts', '--non-interactive', '--no-progress'], {
          cwd: src,
          env: cleanEnv({ HOME: join(scratch, 'gen-home'), YARN_CACHE_FOLDER: join(scratch, 'gen-cache') }),
          encoding: 'utf8',
          timeout: 300_000,
        });
        assert.equal(made.status, 0, `${made.stdout}${made.stderr}`);
        rmSync(join(src, 'node_modules'), { recursive: true, force: true });
      }
      const out = join(scratch, `${c.fixture}-rpm`);
      const packaged = await runCliAsync(['package', 'rpm', src, '--srpm', '-o', out, '--db', unrelatedNpmAdvisoryDb(join(scratch, `${c.fixture}-db`))], {
        cacheDir: join(scratch, 'cache'),
        env: cleanEnv({ NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' }),
      });
      assert.equal(packaged.status, 0, `${packaged.stdout}${packaged.stderr}`);
      const spec = readFileSync(join(out, `${c.name}.spec`), 'utf8');
      assert.match(spec, new RegExp(`^BuildRequires: +${c.buildRequires.replaceAll('/', '\\/')}$`, 'm'));
      assert.match(spec, new RegExp(`^%check\\n(?:export .*\\n)*${c.check}$`, 'm'));
      assert.doesNotMatch(spec, /^npm ci/m, 'npm does not install a yarn or pnpm application');

      const top = join(scratch, `${c.fixture}-rpmbuild`);
      const home = join(scratch, `${c.fixture}-home`);
      mkdirSync(home);
      const srpm = join(out, `${c.name}-1.0.0-1.src.rpm`);
      const cut = offline(['rpmbuild', '--rebuild', '--nodeps', '--define', `_topdir ${top}`, srpm]);
      const env = cleanEnv({ HOME: home, PATH: `${dirname(tool)}:${process.env.PATH ?? ''}`, SOURCE_DATE_EPOCH: '1700000000', ...cut.env });
      const [command, ...args] = cut.argv;
      const build = spawnSync(command as string, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
      const output = `${build.stdout}\n${build.stderr}`;
      assert.equal(build.status, 0, `rpmbuild (network cut with ${cut.how}) failed:\n${output}`);
      assert.match(output, /Executing\(%check\)/);

      const rpmDir = join(top, 'RPMS');
      const arch = readdirSync(rpmDir)[0] as string;
      const rpm = join(rpmDir, arch, readdirSync(join(rpmDir, arch)).find((f) => f.startsWith(`${c.name}-1.0.0-1`)) as string);
      const root = join(scratch, `${c.fixture}-root`);
      mkdirSync(root);
      execFileSync('sh', ['-c', 'rpm2archive - < "$1" | tar -xzf - -C "$2"', 'sh', rpm, root]);
      const appDir = join(root, 'usr', 'lib', 'node_modules', c.name);
      const installed = readdirSync(appDir);
      for (const buildOnly of ['vendor', '.yarn-home', '.pnpm-home', 'stowage-manifest.json']) assert.ok(!installed.includes(buildOnly), `${buildOnly} is not installed`);
      const run = spawnSync(process.execPath, [join(appDir, 'index.mjs')], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), NPM_APP_OUTPUT);
    });
  }
});
