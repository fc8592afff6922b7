import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ADVISORY_KINDS, SEVERITY_LEVELS, type AdvisoryKind, type SeverityLevel } from '../core/advisory.js';
import { cacheDir } from '../core/cache-dir.js';
import { EXIT_FINDINGS, EXIT_OK, StowageError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { openDatabase, type AdvisoryDatabase } from '../advisories/database.js';
import { DEFAULT_DATABASE, parseDatabaseSpec, type FetchPolicy } from '../advisories/source.js';
import { runAudit } from '../audit/audit.js';
import {
  DEFAULT_POLICY,
  OMITTABLE,
  findPolicyFile,
  loadPolicyFile,
  parseIgnoreFlag,
  type AuditPolicy,
  type DependencyKindFilter,
} from '../audit/policy.js';
import { renderHuman, styleFor } from '../audit/report/human.js';
import { renderJson } from '../audit/report/json.js';
import { renderSarif } from '../audit/report/sarif.js';
import { findLockfiles, readDependencyGraph } from '../ecosystems/lockfiles.js';

export interface AuditOptions {
  db?: string[];
  format: 'human' | 'json' | 'sarif';
  output?: string;
  config?: string;
  ignore?: string[];
  deny?: string[];
  severityThreshold?: SeverityLevel;
  omit?: DependencyKindFilter[];
  maxDbAge?: string;
  failStale?: boolean;
  fetch?: boolean;
  cacheDir?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const INFORMATIONAL = ADVISORY_KINDS.filter((k) => k !== 'vulnerability');

function applyFlags(policy: AuditPolicy, opts: AuditOptions): AuditPolicy {
  const result: AuditPolicy = { ...policy, ignores: [...policy.ignores] };
  for (const flag of opts.ignore ?? []) result.ignores.push(parseIgnoreFlag(flag));
  if (opts.deny) {
    const kinds = new Set(result.deny);
    for (const value of opts.deny) {
      if (value === 'informational') INFORMATIONAL.forEach((k) => kinds.add(k));
      else if ((INFORMATIONAL as readonly string[]).includes(value)) kinds.add(value as AdvisoryKind);
      else throw new StowageError(`--deny ${value}: expected ${INFORMATIONAL.join(', ')} or informational`);
    }
    result.deny = [...kinds];
  }
  if (opts.severityThreshold) result.severityThreshold = opts.severityThreshold;
  if (opts.omit) result.omit = [...new Set([...result.omit, ...opts.omit])];
  if (opts.maxDbAge !== undefined) {
    if (!/^\d+$/.test(opts.maxDbAge)) throw new StowageError(`--max-db-age ${opts.maxDbAge}: expected a whole number of days`);
    result.maxDatabaseAgeDays = Number(opts.maxDbAge);
  }
  if (opts.failStale) result.staleDatabase = 'fail';
  return result;
}

/** Writes next to the target and renames, so a reader never sees half a report. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new StowageError(`cannot write report: ${(err as Error).message}`, file);
  }
}

export async function auditCommand(paths: string[], opts: AuditOptions): Promise<number> {
  const targets = paths.length > 0 ? paths : ['.'];
  const policyFile = findPolicyFile(opts.config, targets[0] as string);
  const policy = applyFlags(policyFile ? loadPolicyFile(policyFile) : { ...DEFAULT_POLICY, ignores: [] }, opts);

  // Lockfiles first: a typo in a path is reported before any database work.
  const graphs: DependencyGraph[] = [];
  for (const target of targets) {
    for (const location of findLockfiles(target)) graphs.push(await readDependencyGraph(location));
  }

  const sources = opts.db ?? (policy.databases.length > 0 ? policy.databases : [DEFAULT_DATABASE]);
  const specs = sources.map((s) => parseDatabaseSpec(s));
  const fetch: FetchPolicy = opts.fetch === undefined ? 'auto' : opts.fetch ? 'always' : 'never';
  const cacheRoot = opts.cacheDir ?? cacheDir();
  const databases: AdvisoryDatabase[] = [];
  try {
    for (const spec of specs) databases.push(await openDatabase(spec, { cacheRoot, fetch }));
    const result = await runAudit({ graphs, databases, policy, now: new Date() });
    const text =
      opts.format === 'json'
        ? renderJson(result)
        : opts.format === 'sarif'
          ? renderSarif(result)
          : renderHuman(result, opts.output ? { colour: false, width: 80 } : styleFor(process.stdout));
    if (opts.output) writeAtomically(opts.output, text);
    else process.stdout.write(text);
    if (opts.format !== 'human' || opts.output) {
      for (const w of result.warnings) process.stderr.write(`stowage: warning: ${w}\n`);
    }
    return result.findings.some((f) => f.failsPolicy) ? EXIT_FINDINGS : EXIT_OK;
  } finally {
    for (const db of databases) db.index.close();
  }
}

export function registerAudit(program: Command, setExit: (code: number) => void): void {
  program
    .command('audit')
    .summary('check lockfiles against advisory databases')
    .description(
      'Check every locked package of an application against advisory databases.\n\n' +
        'PATH is a lockfile (Cargo.lock, package-lock.json, npm-shrinkwrap.json, yarn.lock,\n' +
        'pnpm-lock.yaml) or a directory holding one or several: they are audited together,\n' +
        'as one application, in one report. Only packages from the public registry (crates.io,\n' +
        'registry.npmjs.org) are matched; git, path and other-registry packages are listed, not matched.',
    )
    .argument('[path...]', 'lockfiles or directories to audit (default: the current directory)')
    .option(
      '--db <source>',
      'advisory database: git URL or bundle (URL#branch to pick one), local git checkout, directory of RustSec or OSV files, or .zip of OSV files; repeatable (default: the RustSec advisory-db)',
      collect,
    )
    .addOption(new Option('-f, --format <format>', 'report format').choices(['human', 'json', 'sarif']).default('human'))
    .option('-o, --output <file>', 'write the report to FILE instead of standard output')
    .option('--config <file>', 'policy file (default: stowage.toml beside the first PATH)')
    .option('--ignore <id=reason>', 'accept an advisory (id or alias) for a stated reason; repeatable', collect)
    .option('--deny <kind>', 'let informational advisories fail the audit: unmaintained, unsound, notice or informational; repeatable', collect)
    .addOption(new Option('--severity-threshold <level>', 'vulnerabilities below LEVEL are reported but do not fail').choices(SEVERITY_LEVELS))
    .addOption(new Option('--omit <kind>', 'leave out packages only reachable as dev, optional or peer dependencies (npm); repeatable').choices(OMITTABLE).argParser(collect as (v: string, p: unknown) => string[]))
    .option('--max-db-age <days>', `warn when the database revision is older than DAYS (default: ${DEFAULT_POLICY.maxDatabaseAgeDays})`)
    .option('--fail-stale', 'refuse to audit (exit 2) with a database older than --max-db-age')
    .option('--fetch', 'fetch git databases now (default: when the last fetch is over an hour old)')
    .option('--no-fetch', 'never fetch: use the cached database, fail if there is none (offline use)')
    .option('--cache-dir <dir>', 'where databases and indexes are kept (default: $STOWAGE_CACHE_DIR, $XDG_CACHE_HOME/stowage or ~/.cache/stowage)')
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
}
