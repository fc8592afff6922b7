import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { EXIT_FINDINGS, EXIT_OK, StowageError } from '../core/errors.js';
import { renderHuman, styleFor } from '../audit/report/human.js';
import { renderJson } from '../audit/report/json.js';
import { renderSarif } from '../audit/report/sarif.js';
import { auditApplication } from '../audit/run.js';
import { addAuditOptions, auditSettings, type AuditFlags } from './audit-options.js';

export interface AuditOptions extends AuditFlags {
  format: 'human' | 'json' | 'sarif';
  output?: string;
}

/** Writes next to the target and renames, so a reader never sees half a report. */
export function writeTextAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new StowageError(`cannot write: ${(err as Error).message}`, file);
  }
}

export async function auditCommand(paths: string[], opts: AuditOptions): Promise<number> {
  const targets = paths.length > 0 ? paths : ['.'];
  const settings = auditSettings(targets[0] as string, opts);
  const { result } = await auditApplication({ paths: targets, ...settings });
  const text =
    opts.format === 'json'
      ? renderJson(result)
      : opts.format === 'sarif'
        ? renderSarif(result)
        : renderHuman(result, opts.output ? { colour: false, width: 80 } : styleFor(process.stdout));
  if (opts.output) writeTextAtomically(opts.output, text);
  else process.stdout.write(text);
  if (opts.format !== 'human' || opts.output) {
    for (const w of result.warnings) process.stderr.write(`stowage: warning: ${w}\n`);
  }
  return result.findings.some((f) => f.failsPolicy) ? EXIT_FINDINGS : EXIT_OK;
}

export function registerAudit(program: Command, setExit: (code: number) => void): void {
  const command = program.command('audit');
  command
    .summary('check lockfiles against advisory databases')
    .description(
      'Check every locked package of an application against advisory databases.\n\n' +
        'PATH is a lockfile (Cargo.lock, package-lock.json, npm-shrinkwrap.json, yarn.lock, ' +
        'pnpm-lock.yaml) or a directory holding one or several: they are audited together, ' +
        'as one application, in one report. Only packages from the public registry (crates.io, ' +
        'registry.npmjs.org) are matched; git, path and other-registry packages are listed, not matched.',
    )
    .argument('[path...]', 'lockfiles or directories to audit (default: the current directory)')
    .addOption(new Option('-f, --format <format>', 'report format').choices(['human', 'json', 'sarif']).default('human'))
    .option('-o, --output <file>', 'write the report to FILE instead of standard output')
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
      setExit(await auditCommand(paths, opts));
    });
  addAuditOptions(command, { omit: true });
}
