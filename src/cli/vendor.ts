import type { Command } from 'commander';
import { addAuditOptions } from './audit-options.js';
import { subcommandOptions } from './program.js';
import type { VendorOptions } from './vendor-command.js';

export function registerVendor(program: Command, setExit: (code: number) => void): void {
  const vendor = program
    .command('vendor')
    .summary('vendor the locked dependencies into a reproducible archive')
    .description(
      'Download every locked registry package, verify it against the lockfile checksum, and write ' +
        'one archive that, extracted at the application root, lets it build with no network: ' +
        'cargo build --offline --frozen; npm ci --offline (package-lock.json); yarn install (yarn v1: ' +
        'an offline mirror and .yarnrc); yarn install --immutable (yarn berry: yarn\'s own zips in ' +
        '.yarn/cache and .yarnrc.yml); pnpm install --offline --frozen-lockfile (pnpm-lock.yaml: ' +
        'a pnpm store in vendor/pnpm-store and .npmrc). The audit runs first and vendoring is ' +
        'refused (exit 1) while findings fail the policy. The archive is byte-identical for the ' +
        "same inputs (every mtime is SOURCE_DATE_EPOCH, else the application's last git commit time, else 1980-01-01) and carries stowage-manifest.json.",
    )
    .argument('[path]', 'the application directory or its lockfile (default: the current directory)')
    .option('-o, --output <archive>', 'where to write the archive: .tar.zst (default: vendor.tar.zst in the application directory, beside its lockfile) or .tar.gz')
    .option('-j, --jobs <n>', 'parallel downloads (default 8)')
    .addHelpText(
      'after',
      `
Examples:
  stowage vendor                                  vendor.tar.zst for the app in this directory
  stowage vendor app/ -o app-vendor.tar.gz        gzip instead of zstd
  SOURCE_DATE_EPOCH=1700000000 stowage vendor     set the archive's timestamps yourself
  stowage vendor --ignore RUSTSEC-2023-0071="no RSA decryption here"
  stowage vendor --omit dev                       the gate judges what ships: findings only dev
                                                  dependencies bring in do not refuse it (the
                                                  archive still holds them, for the build)
  stowage vendor verify vendor.tar.zst            check it against the lockfile and reproduce it

Exit codes: 0 archive written (or verified), 1 refused by the audit policy (or verification
found differences), 2 vendoring could not be done (bad input, download or checksum failure).`,
    )
    .action(async (path: string | undefined, opts: VendorOptions) => {
      setExit(await (await import('./vendor-command.js')).vendorCommand(path, opts));
    });
  addAuditOptions(vendor, { omit: true });

  vendor
    .command('verify')
    .description(
      'Check a vendor archive against the application lockfile(s) and every checksum, then rebuild it to prove the bytes reproduce.',
    )
    .argument('<archive>', 'the archive (.tar.zst or .tar.gz)')
    .argument('[path]', "the application directory (default: the archive's directory)")
    .option('-j, --jobs <n>', 'parallel downloads (default 8)')
    .option('--cache-dir <dir>', 'download cache (default: as for vendor)')
    .action(async (archive: string, path: string | undefined, opts: { cacheDir?: string; jobs?: string }, command: Command) => {
      setExit(await (await import('./vendor-command.js')).verifyCommand(archive, path, subcommandOptions(command, opts)));
    });
}
