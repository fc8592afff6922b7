import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { EXIT_FINDINGS, EXIT_OK, StowageError, errorMessage } from '../core/errors.js';
import { renderHuman } from '../audit/report/human.js';
import { sourceDateEpoch, writeFileAtomically } from '../vendor/archive.js';
import { VendorRefused, projectDirOf } from '../vendor/vendor-app.js';
import { packageRpm, sha256, type RpmOutput } from '../package/rpm-package.js';
import { RPM_FLAVORS, type RpmFlavor } from '../package/rpm-spec.js';
import { addAuditOptions, auditSettings, collect, type AuditFlags } from './audit-options.js';
import { progressReporter } from './progress.js';

interface PackageRpmOptions extends AuditFlags {
  output?: string;
  srpm?: boolean;
  flavor: RpmFlavor;
  vendor?: string;
  license?: string[];
  release: string;
  jobs?: string;
}

const warn = (message: string): void => {
  process.stderr.write(`stowage: warning: ${message}\n`);
};

/** All or nothing: a failed write removes what this run already wrote. */
function writeOutputs(dir: string, outputs: readonly RpmOutput[]): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StowageError(`cannot create the output directory: ${errorMessage(err)}`, dir);
  }
  const written: string[] = [];
  try {
    for (const output of outputs) {
      const path = join(dir, output.name);
      writeFileAtomically(path, output.data);
      written.push(path);
    }
  } catch (err) {
    for (const path of written) rmSync(path, { force: true });
    throw err;
  }
}

export async function packageRpmCommand(path: string | undefined, opts: PackageRpmOptions): Promise<number> {
  const target = path ?? '.';
  const outDir = resolve(opts.output ?? join(projectDirOf(target), 'rpm'));
  const jobs = opts.jobs === undefined ? 8 : Number(opts.jobs);
  const progress = progressReporter('package', process.stderr);
  let result;
  try {
    result = await packageRpm({
      path: target,
      outDir,
      flavor: opts.flavor,
      release: opts.release,
      licenses: opts.license ?? [],
      ...(opts.vendor !== undefined ? { vendorArchive: opts.vendor } : {}),
      audit: auditSettings(target, opts),
      sourceDateEpoch: sourceDateEpoch(process.env),
      srpm: opts.srpm === true,
      env: process.env,
      concurrency: Number.isInteger(jobs) && jobs >= 1 && jobs <= 64 ? jobs : 8,
      onProgress: progress.update,
      warn,
    });
  } catch (err) {
    if (err instanceof VendorRefused) {
      progress.stop();
      process.stderr.write(renderHuman(err.audit, { colour: false, width: 80 }));
      process.stderr.write(`stowage: ${err.message}\n`);
      return EXIT_FINDINGS;
    }
    throw err;
  } finally {
    progress.stop();
  }
  for (const w of result.audit?.warnings ?? []) warn(w);
  writeOutputs(outDir, result.outputs);
  const lines = [
    `${join(outDir, result.specName)}: ${result.rpmName} ${result.rpmVersion}-${opts.release}, ${result.bundled.length} bundled libraries`,
    `  License: ${result.license}`,
    `  source: ${result.fromGit ? 'git-tracked files' : 'the directory (no git checkout)'}`,
  ];
  for (const output of result.outputs.slice(1)) lines.push(`  ${output.name}  sha256 ${sha256(output.data)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

export function registerPackage(program: Command, setExit: (code: number) => void): void {
  const pkg = program
    .command('package')
    .summary('package the application with its vendored dependencies for a distribution')
    .description('Make a distribution source package of the application and its vendored, audited dependencies.');

  const rpm = pkg
    .command('rpm')
    .description(
      'Write an RPM spec and its sources into DIR: NAME.spec; NAME-VERSION.tar.gz (the application: ' +
        'its git-tracked files, or the directory without target/, node_modules/, vendor/ and earlier ' +
        'archives); NAME-VERSION-vendor.tar.zst (every locked dependency, from `stowage vendor`, whose ' +
        'audit gate applies); NAME-VERSION.cdx.json (CycloneDX SBOM, installed under /usr/share/NAME); ' +
        'NAME-VERSION-bundled-licenses.txt (each bundled library and its licence, installed as %license). ' +
        'The spec builds and tests offline (cargo build/test --offline --frozen; npm ci --offline, npm test), ' +
        'declares one Provides: bundled(...) = VERSION per bundled library and a License: combining every ' +
        'licence. A library without an SPDX licence stops packaging (exit 2) unless given with --license. ' +
        'Outputs are byte-identical for the same inputs and SOURCE_DATE_EPOCH.',
    )
    .argument('[path]', 'the application directory (default: the current directory)')
    .option('-o, --output <dir>', 'output directory (default: PATH/rpm)')
    .option('--srpm', 'also build NAME-VERSION-RELEASE.src.rpm with rpmbuild -bs (reproducibly)')
    .addOption(new Option('--flavor <distribution>', 'packaging conventions').choices(RPM_FLAVORS).default('fedora'))
    .option('--vendor <archive>', 'use this vendor archive (verified against the lockfile first) instead of vendoring now')
    .option('--license <name=expr>', 'the SPDX licence of a package (NAME or NAME@VERSION) or of the application; repeatable', collect)
    .option('--release <n>', 'the RPM Release', '1')
    .option('-j, --jobs <n>', 'parallel downloads (default 8)')
    .addHelpText(
      'after',
      `
Examples:
  stowage package rpm --srpm                         spec, sources and .src.rpm in ./rpm
  stowage package rpm app/ -o out --flavor opensuse  openSUSE conventions
  stowage package rpm --vendor vendor.tar.zst        reuse a vendor archive (verified first)
  stowage package rpm --license mycrate=MIT --license ring@0.17.8="ISC AND MIT AND OpenSSL"
  SOURCE_DATE_EPOCH=1700000000 stowage package rpm --srpm
  rpmbuild --rebuild rpm/NAME-VERSION-1.src.rpm     build it, with no network

Flavours:
  fedora    Provides: bundled(crate(NAME)) = V, bundled(nodejs-NAME) = V; BuildRequires cargo, rust / nodejs, npm
  opensuse  Provides: bundled(crate(NAME)) = V, bundled(npm(NAME)) = V; BuildRequires cargo, rust / nodejs-default, npm-default

Exit codes: 0 written, 1 refused by the audit policy, 2 packaging could not be done
(bad input, missing licences, a vendor archive that does not verify, rpmbuild failure);
nothing is left half-written in DIR.`,
    )
    .action(async (path: string | undefined, opts: PackageRpmOptions) => {
      setExit(await packageRpmCommand(path, opts));
    });
  addAuditOptions(rpm, { omit: false });
}
