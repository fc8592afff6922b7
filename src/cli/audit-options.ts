import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ADVISORY_KINDS, SEVERITY_LEVELS, type AdvisoryKind, type SeverityLevel } from '../core/advisory.js';
import { cacheDir } from '../core/cache-dir.js';
import { StowageError } from '../core/errors.js';
import { noteInputFile } from '../core/input-files.js';
import type { AuditSettings } from '../audit/run.js';
import type { FetchPolicy } from '../advisories/source.js';
import {
  DEFAULT_POLICY,
  OMITTABLE,
  findPolicyFile,
  loadPolicyFile,
  parseIgnoreFlag,
  type AuditPolicy,
  type DependencyKindFilter,
} from '../audit/policy.js';

/** The options every command that audits (audit, vendor, package) accepts. */
export interface AuditFlags {
  db?: string[];
  config?: string;
  ignore?: string[];
  deny?: string[];
  severityThreshold?: SeverityLevel;
  omit?: DependencyKindFilter[];
  maxDbAge?: string;
  failStale?: boolean;
  fetch?: boolean;
  cacheDir?: string;
  allowUnidentified?: boolean;
}

export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const INFORMATIONAL = ADVISORY_KINDS.filter((k) => k !== 'vulnerability');

/**
 * `omit`: --omit (npm dependency kinds). `sbomInput`: --allow-unidentified, only where an SBOM
 * is audited and nothing is built from it: vendor, sbom and package must not drop a package.
 */
export function addAuditOptions(command: Command, { omit, sbomInput = false }: { omit: boolean; sbomInput?: boolean }): Command {
  command
    .option(
      '--db <source>',
      'advisory database: git URL or bundle (URL#branch to pick one), local git checkout, directory of RustSec or OSV files, or .zip of OSV files; repeatable (default: the RustSec advisory-db)',
      collect,
    )
    .option('--config <file>', 'policy file (default: stowage.toml beside the first PATH)')
    .option('--ignore <id=reason>', 'accept an advisory (id or alias) for a stated reason; repeatable', collect)
    .option('--deny <kind>', 'let informational advisories fail: unmaintained, unsound, notice or informational; repeatable', collect)
    .addOption(new Option('--severity-threshold <level>', 'vulnerabilities below LEVEL are reported but do not fail').choices(SEVERITY_LEVELS));
  if (omit) {
    command.addOption(
      new Option('--omit <kind>', 'leave out packages only reachable as dev, optional or peer dependencies, as the dependency graph (not the lockfile\'s markers) says; dev for Cargo too; repeatable')
        .choices(OMITTABLE)
        .argParser(collect as (v: string, p: unknown) => string[]),
    );
  }
  if (sbomInput) {
    command.option(
      '--allow-unidentified',
      'audit an SBOM even when some components name packages stowage cannot identify (no purl, a purl of another ecosystem, ' +
        'or one that contradicts the component) or dependencies name missing bom-refs: these are reported as not audited (default: refuse, exit 2)',
    );
  }
  return command
    .option('--max-db-age <days>', `warn when the database revision is older than DAYS (default: ${DEFAULT_POLICY.maxDatabaseAgeDays})`)
    .option('--fail-stale', 'refuse (exit 2) with a database older than --max-db-age')
    .option('--fetch', 'fetch git databases now (default: when the last fetch is over an hour old)')
    .option('--no-fetch', 'never fetch: use the cached database, fail if there is none (offline use)')
    .option('--cache-dir <dir>', 'where databases, indexes and downloads are kept (default: $STOWAGE_CACHE_DIR, $XDG_CACHE_HOME/stowage or ~/.cache/stowage)');
}

function applyFlags(policy: AuditPolicy, opts: AuditFlags): AuditPolicy {
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

/** --fetch (always), --no-fetch (never), neither (auto: when the last fetch is over an hour old). */
export function fetchPolicyOf(fetch: boolean | undefined): FetchPolicy {
  return fetch === undefined ? 'auto' : fetch ? 'always' : 'never';
}

/** The policy file (if any) with the command-line flags applied on top. */
export function auditSettings(firstPath: string, opts: AuditFlags): AuditSettings {
  const policyFile = findPolicyFile(opts.config, firstPath);
  const policy = applyFlags(policyFile ? loadPolicyFile(policyFile) : { ...DEFAULT_POLICY, ignores: [] }, opts);
  return {
    policy,
    ...(opts.db ? { databases: opts.db } : {}),
    fetch: fetchPolicyOf(opts.fetch),
    cacheRoot: opts.cacheDir ?? cacheDir(),
    ...(opts.allowUnidentified ? { allowUnidentified: true } : {}),
  };
}

/**
 * Records the files a command was given to read (paths, --config, --db files, --vendor) as
 * inputs before any work, so that no `-o` can name one of them; lockfiles and manifests found
 * in a directory are recorded as they are read.
 */
export function noteGivenInputs(paths: readonly string[], opts: AuditFlags & { vendor?: string }): void {
  for (const path of [...paths, ...(opts.db ?? []).flatMap((db) => [db, db.replace(/#[^/]*$/, '')]), opts.config, opts.vendor]) {
    if (path !== undefined && path !== '') noteInputFile(resolve(path));
  }
}
