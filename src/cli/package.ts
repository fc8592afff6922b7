import { Option, type Command } from 'commander';
import { RPM_FLAVORS } from '../package/rpm-flavor.js';
import { addAuditOptions, collect } from './audit-options.js';
import type { PackageRpmOptions } from './package-command.js';

export function registerPackage(program: Command, setExit: (code: number) => void): void {
  const pkg = program
    .command('package')
    .summary('package the application with its vendored dependencies for a distribution')
    .description('Make a distribution source package of the application and its vendored, audited dependencies.');

  const rpm = pkg
    .command('rpm')
    .summary('an RPM spec and sources that build offline, with an SBOM')
    .description(
      'Write an RPM spec and its sources into DIR: NAME.spec; NAME-VERSION.tar.gz (the application: ' +
        'its git-tracked files, or the directory without target/, node_modules/, vendor/ and earlier ' +
        'archives); NAME-VERSION-vendor.tar.zst (every locked dependency, from `stowage vendor`, whose ' +
        'audit gate applies); NAME-VERSION.cdx.json (CycloneDX SBOM, installed under /usr/share/NAME); ' +
        'NAME-VERSION-bundled-licenses.txt (each bundled library and its licence, installed as %license); ' +
        "Cargo: NAME-VERSION.dep-v0 (the crates the binaries are built from, dev-only ones left out, in cargo-auditable's format), " +
        'added to each installed binary with objcopy (BuildRequires: binutils) so cargo-audit, Trivy, syft and `stowage audit` can audit it. ' +
        'The spec builds and tests offline with the lockfile\'s own tool (cargo build/test --offline --frozen; ' +
        'npm ci --offline, npm test; yarn install, yarn test; pnpm install --offline, pnpm test; ' +
        'yarn and pnpm are required as /usr/bin/yarn and /usr/bin/pnpm), ' +
        'declares one Provides: bundled(...) = VERSION per bundled library and a License: combining every ' +
        'licence. A library without an SPDX licence stops packaging (exit 2) unless given with --license. ' +
        "Outputs are byte-identical for the same inputs; their timestamps are SOURCE_DATE_EPOCH, else the application's last git commit time, else 1980-01-01, never the clock (the SRPM's build time is that day at 00:00 UTC: rpmbuild reads it from the %changelog date, which it takes from 1990-01-01 on, so 1990-01-01 for an earlier one).",
    )
    .argument('[path]', 'the application directory (default: the current directory)')
    .option('-o, --output <dir>', 'output directory (default: PATH/rpm)')
    .option('--srpm', 'also build NAME-VERSION-RELEASE.src.rpm with rpmbuild -bs (reproducibly)')
    .addOption(new Option('--flavor <distribution>', 'packaging conventions').choices(RPM_FLAVORS).default('fedora'))
    .option('--vendor <archive>', 'use this vendor archive (verified against the lockfile first) instead of vendoring now')
    .option('--license <name=expr>', 'the SPDX licence of a package (NAME or NAME@VERSION) or of the application; repeatable', collect)
    .addOption(new Option('--release <n>', 'the RPM Release').default('1', '1'))
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
  stowage package rpm --omit dev                     the gate judges what ships: findings only dev dependencies bring in do not refuse it
  rpmbuild --rebuild rpm/NAME-VERSION-1.src.rpm     build it, with no network
  rpmbuild --rebuild --without check rpm/NAME-VERSION-1.src.rpm   the same without %check (tests the source does not carry)

Flavours:
  fedora    Provides: bundled(crate(NAME)) = V, bundled(nodejs-NAME) = V; BuildRequires cargo, rust / nodejs, npm
  opensuse  Provides: bundled(crate(NAME)) = V, bundled(npm(NAME)) = V; BuildRequires cargo, rust / nodejs-default, npm-default

Exit codes: 0 written, 1 refused by the audit policy, 2 packaging could not be done
(bad input, missing licences, a vendor archive that does not verify, rpmbuild failure);
nothing is left half-written in DIR.`,
    )
    .action(async (path: string | undefined, opts: PackageRpmOptions) => {
      setExit(await (await import('./package-command.js')).packageRpmCommand(path, opts));
    });
  addAuditOptions(rpm, { omit: true });
}
