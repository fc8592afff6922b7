import { Option, type Command } from 'commander';
import { addAuditOptions, collect } from './audit-options.js';
import type { SbomOptions } from './sbom-command.js';

export function registerSbom(program: Command, setExit: (code: number) => void): void {
  const sbom = program
    .command('sbom')
    .summary('write a software bill of materials: CycloneDX 1.6 or SPDX 2.3 JSON')
    .description(
      'Describe the application and every locked package: purl, hashes (the lockfile checksums), ' +
        'licence and the dependency graph. CycloneDX puts the application in metadata.component; ' +
        'SPDX relates packages with DEPENDS_ON. Licences are read from the packages themselves ' +
        '(Cargo.toml, package.json), so they are fetched as `stowage vendor` fetches them: through ' +
        'the download cache, verified against the lockfile (a second run downloads nothing). With ' +
        '--vendor ARCHIVE they are read from that archive instead, offline; with --no-licenses ' +
        'nothing is downloaded and licences are NOASSERTION. Timestamps come from SOURCE_DATE_EPOCH, ' +
        "else the application's last git commit time, else 1980-01-01, so the same inputs give the same document. " +
        'PATH may also be what shipped, read as `stowage audit` reads it: a Rust binary (its cargo-auditable .dep-v0 section, ' +
        'the application being its root crate), a .deb, a binary or stowage source RPM, an OCI or docker save image archive, or an ' +
        'installed tree (a directory without lockfiles). The package or image is then the application, and each Rust binary and ' +
        'node_modules root inside it an application component of its own; every package says where it was learnt from ' +
        '(property stowage:inventory in CycloneDX, sourceInfo in SPDX). Their packages have no checksums to verify downloads ' +
        'against, so they need --no-licenses (or --vendor). A binary without .dep-v0 is read from its embedded source paths only ' +
        'with --allow-partial, and the SBOM then says the inventory is partial (a CycloneDX composition with aggregate ' +
        '"incomplete"; an SPDX annotation and document comment).',
    )
    .argument('[path]', 'the application directory, its lockfile, or what shipped: a Rust binary, .deb, RPM, image archive or installed tree (default: the current directory)')
    .addOption(new Option('--format <format>', 'output format').choices(['cyclonedx', 'spdx']).default('cyclonedx'))
    .option('-o, --output <file>', 'write to FILE (a regular file or a new path; - for standard output) instead of standard output')
    .option('--vex', "add the audit's findings as CycloneDX vulnerabilities (each accepted one with its reason); uses the audit options")
    .option('--vendor <archive>', 'read licences from this vendor archive (offline)')
    .option('--no-licenses', 'do not fetch packages for their licences (licences become NOASSERTION)')
    .option('--license <name=expr>', 'the SPDX licence of a package (NAME or NAME@VERSION) or of the application; repeatable', collect)
    .addHelpText(
      'after',
      `
Examples:
  stowage sbom -o app.cdx.json                          CycloneDX, licences from the packages
  stowage sbom app/ --format spdx -o app.spdx.json
  stowage sbom --vex --db ./advisory-db --no-fetch      with the audit's findings as VEX
  stowage sbom --vendor vendor.tar.zst                  licences from a vendor archive, offline
  stowage sbom --no-licenses                            no downloads at all
  stowage sbom /usr/bin/app --no-licenses               a binary built with cargo-auditable
  stowage sbom ripgrep_13.0.0-4_amd64.deb --no-licenses --allow-partial
                                                        a Debian package: X-Cargo-Built-Using and its binaries
  stowage sbom image.tar --no-licenses --format spdx     an image archive (docker save or OCI layout)

Exit codes: 0 written, 2 it could not be made (bad input, unreadable database, download failure).`,
    )
    .action(async (path: string | undefined, opts: SbomOptions) => {
      setExit(await (await import('./sbom-command.js')).sbomCommand(path, opts));
    });
  addAuditOptions(sbom, { omit: false, shippedInput: true });
}
