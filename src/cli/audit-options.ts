import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { SEVERITY_LEVELS, type SeverityLevel } from '../core/advisory.js';
import { cacheDir } from '../core/cache-dir.js';
import { StowageError } from '../core/errors.js';
import { noteInputFile } from '../core/input-files.js';
import type { AuditSettings } from '../audit/run.js';
import type { FetchPolicy } from '../advisories/source.js';
import {
  DEFAULT_POLICY,
  INFORMATIONAL_KINDS,
  OMITTABLE,
  deniedKinds,
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
  allowPartial?: boolean;
}

export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/**
 * commander's `choices` is replaced by any `argParser`, so a repeatable choice is checked
 * here: `--omit banana` must not leave everything in while the user believes it left some out.
 */
function collectOmitted(value: string, previous: DependencyKindFilter[] | undefined): DependencyKindFilter[] {
  const kind = OMITTABLE.find((k) => k === value);
  if (kind === undefined) throw new StowageError(`--omit ${value}: expected ${OMITTABLE.join(', ')}`);
  return [...(previous ?? []), kind];
}

/**
 * `omit`: --omit (npm dependency kinds). `sbomInput`: --allow-unidentified, only where an SBOM
 * is audited and nothing is built from it: vendor, sbom and package must not drop a package.
 * `shippedInput`: --allow-partial, where a binary may be read (audit, sbom).
 */
export function addAuditOptions(
  command: Command,
  { omit, sbomInput = false, shippedInput = false }: { omit: boolean; sbomInput?: boolean; shippedInput?: boolean },
): Command {
  command
    .option(
      '--db <source>',
      'advisory database: git URL or bundle (URL#branch to pick one), local git checkout, directory of RustSec or OSV files, ' +
        '.zip of OSV files, or an https URL of one (downloaded, cached and revalidated); repeatable, replaces the defaults ' +
        "(default: each audited ecosystem's own: RustSec's git repository for Cargo, osv.dev's npm export for npm; see `stowage db`)",
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
        .argParser(collectOmitted),
    );
  }
  if (sbomInput) {
    command.option(
      '--allow-unidentified',
      'audit an SBOM even when some components name packages stowage cannot identify (no purl, a purl of another ecosystem, ' +
        'or one that contradicts the component) or dependencies name missing bom-refs: these are reported as not audited (default: refuse, exit 2)',
    );
  }
  if (shippedInput) {
    command.option(
      '--allow-partial',
      'audit a Rust binary without a cargo-auditable .dep-v0 section from the crates its embedded source paths name, ' +
        'a lockfile whose git or tarball packages named by advisories record no version, ' +
        'or an npm or pnpm lockfile that does not list the dependencies a package bundles in its tarball: ' +
        'a partial inventory, said in every report (default: refuse, exit 2)',
    );
  }
  return command
    .option('--max-db-age <days>', `warn when the database revision is older than DAYS (default: ${DEFAULT_POLICY.maxDatabaseAgeDays})`)
    .option('--fail-stale', 'refuse (exit 2) with a database older than --max-db-age')
    .option('--fetch', 'fetch git and downloaded databases now (default: when the last fetch is over an hour old)')
    .option('--no-fetch', 'never fetch: use the cached databases, fail if one is not cached (offline use)')
    .option('--cache-dir <dir>', 'where databases, indexes and downloads are kept (default: $STOWAGE_CACHE_DIR, $XDG_CACHE_HOME/stowage or ~/.cache/stowage)');
}

function applyFlags(policy: AuditPolicy, opts: AuditFlags): AuditPolicy {
  const result: AuditPolicy = { ...policy, ignores: [...policy.ignores] };
  for (const flag of opts.ignore ?? []) result.ignores.push(parseIgnoreFlag(flag));
  if (opts.deny) {
    const kinds = new Set(result.deny);
    for (const value of opts.deny) {
      const denied = deniedKinds(value);
      if (denied === null) throw new StowageError(`--deny ${value}: expected ${INFORMATIONAL_KINDS.join(', ')} or informational`);
      denied.forEach((k) => kinds.add(k));
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
    ...(opts.allowPartial ? { allowPartial: true } : {}),
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
