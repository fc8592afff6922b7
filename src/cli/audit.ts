import { Option, type Command } from 'commander';
import { addAuditOptions } from './audit-options.js';
import type { AuditOptions } from './audit-command.js';

export function registerAudit(program: Command, setExit: (code: number) => void): void {
  const command = program.command('audit');
  command
    .summary('check lockfiles against advisory databases')
    .description(
      'Check every locked package of an application against advisory databases.\n\n' +
        'PATH is a lockfile (Cargo.lock, package-lock.json, npm-shrinkwrap.json, yarn.lock, ' +
        'pnpm-lock.yaml, bun.lock) or a directory holding one or several: they are audited together, ' +
        'as one application, in one report. A Cargo workspace member\'s directory without a Cargo.lock is audited with its workspace ' +
        'root\'s Cargo.lock, the one cargo builds it with (the whole workspace, as cargo audit reads it); an npm, yarn or pnpm ' +
        'workspace member\'s directory without a lockfile of its own, with the lockfile at the root of the workspace that lists it. It may also be a CycloneDX JSON SBOM or a stowage vendor archive, ' +
        'to audit what shipped again without its source: each of its components, nested ones included, must name a package stowage ' +
        'identifies by its purl, or the SBOM is refused (see --allow-unidentified). ' +
        'It may be a Rust executable (ELF, PE, Mach-O, WebAssembly module): the crates, sources and dependency edges of its cargo-auditable ' +
        '.dep-v0 section (inventory dep-v0); without one, the crates its embedded source paths name (…/registry/src/INDEX/NAME-VERSION/, ' +
        "Debian's /usr/share/cargo/registry/NAME-VERSION/), a partial inventory that is refused unless --allow-partial, and then " +
        'reported as PARTIAL in every format. ' +
        "It may be a Debian package (.deb: the crates its X-Cargo-Built-Using/Static-Built-Using fields and the rust-* relations of its Built-Using name, mapped back from Debian's " +
        'rust-NAME packages and versions, and each Rust binary it installs), an RPM (its bundled(crate(...)), bundled(npm(...)) and ' +
        "bundled(nodejs-...) provides and each Rust binary in its payload; a stowage source RPM: its vendor archive's SBOM), an image " +
        'archive (docker save or OCI layout tar: layers applied in order, whiteouts honoured) or a directory without lockfiles (a root ' +
        'file system, an installed node_modules): each Rust binary and each node_modules root is an application of its own, read in ' +
        'memory, never unpacked; a package inventory and a binary inventory are reported side by side, with a warning where they ' +
        'disagree. Each target of the report names its inventory source. Crates from crates.io and npm packages from a registry (the public one or a mirror) ' +
        'are matched; npm packages from git or a tarball are matched by the version the lockfile records, with a warning; ' +
        'crates from git or another registry are matched by the name and version recorded, with a warning when an advisory affects one; ' +
        'path crates are listed, not matched. A lockfile whose ecosystem no database covers ' +
        'fails the audit (exit 2) rather than passing unchecked.',
    )
    .argument('[path...]', 'lockfiles, directories, SBOMs, vendor archives, Rust binaries, .deb and RPM packages or image archives to audit (default: the current directory)')
    .addOption(new Option('-f, --format <format>', 'report format').choices(['human', 'json', 'sarif']).default('human'))
    .option(
      '--fix-advice',
      "plan each finding's fix (the smallest lockfile change, as `stowage fix` plans it) from the registry the application uses: " +
        'reads the network, so off by default',
    )
    .addOption(
      new Option('--color <when>', 'colour the human report: auto (on a terminal, unless NO_COLOR is set; FORCE_COLOR forces it), always or never')
        .choices(['auto', 'always', 'never'])
        .default('auto'),
    )
    .option('-o, --output <file>', 'write the report to FILE (a regular file or a new path; - for standard output) instead of standard output')
    .addHelpText(
      'after',
      `
Examples:
  stowage audit                                  the lockfile(s) in the current directory
  stowage audit Cargo.lock --format json         machine-readable report (schema in the README)
  stowage audit app/ --format sarif -o audit.sarif   for code-scanning dashboards
  stowage audit --db ./advisory-db --no-fetch    offline, from a local RustSec checkout
  stowage audit --db osv-npm.zip --omit dev      an npm app against an OSV export, runtime deps only
  stowage audit --ignore RUSTSEC-2023-0071="no RSA decryption in this app"
  stowage audit vendor.tar.zst                   what shipped, again, from its SBOM
  stowage audit --fix-advice                     each finding with the smallest lockfile change that fixes it
  stowage audit /usr/bin/rg                      a Rust binary built with cargo-auditable (.dep-v0)
  stowage audit --allow-partial ./server         a binary without .dep-v0: its embedded paths, PARTIAL
  stowage audit --allow-partial ripgrep_13.0.0-4_amd64.deb   X-Cargo-Built-Using beside the binary's own crates
  stowage audit --allow-partial app-1.0-1.x86_64.rpm         bundled provides beside the binaries in the payload
  stowage audit image.tar --db ./advisory-db --db ghsa-npm/  every binary and node_modules of a docker save / OCI image
  stowage audit --allow-partial /srv/rootfs     an installed tree without lockfiles

Policy (stowage.toml beside the lockfile, or --config):
  [audit]
  deny = ["unsound"]              # informational kinds that fail
  severity-threshold = "medium"   # lower vulnerabilities are reported, do not fail
  unscored = "critical"           # assumed level when an advisory has no score
  [[audit.ignore]]
  id = "RUSTSEC-2023-0071"
  reason = "no RSA decryption with attacker-timed inputs"
  expires = 2027-01-31

Exit codes: 0 nothing fails the policy, 1 findings fail the policy, 2 the audit could not be done.`,
    )
    .action(async (paths: string[], opts: AuditOptions) => {
      setExit(await (await import('./audit-command.js')).auditCommand(paths, opts));
    });
  addAuditOptions(command, { omit: true, sbomInput: true, shippedInput: true });
}
