import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { TomlDate, TomlError, parse } from 'smol-toml';
import { ADVISORY_KINDS, SEVERITY_LEVELS, type AdvisoryKind, type SeverityLevel } from '../core/advisory.js';
import { InputError, StowageError } from '../core/errors.js';
import { readTextInput } from '../core/input-files.js';
import { URL_LIKE } from '../advisories/source.js';

export const CONFIG_FILE_NAME = 'stowage.toml';

/** An accepted risk: reviewed like code, with a reason, and an end date when it must be looked at again. */
export interface IgnoreRule {
  /** Advisory id or any alias (CVE, GHSA). */
  id: string;
  reason: string;
  /** Last day (YYYY-MM-DD, inclusive) the ignore applies; null for no end. */
  expires: string | null;
  /** Where the rule was written: the config file, or `--ignore`. */
  origin: string;
}

export type DependencyKindFilter = 'dev' | 'optional' | 'peer';
export const OMITTABLE: readonly DependencyKindFilter[] = ['dev', 'optional', 'peer'];

export interface AuditPolicy {
  ignores: IgnoreRule[];
  /** Informational kinds that fail the audit. Vulnerabilities always do (above the threshold). */
  deny: AdvisoryKind[];
  /** Vulnerabilities below this level are reported but do not fail the audit. */
  severityThreshold: SeverityLevel;
  /** The level assumed for a vulnerability with no severity: fail closed by default. */
  unscored: SeverityLevel;
  /** Age in days past which a database revision is stale. */
  maxDatabaseAgeDays: number;
  /** warn: say so and audit; fail: refuse (exit 2), since the audit cannot be trusted. */
  staleDatabase: 'warn' | 'fail';
  omit: DependencyKindFilter[];
  /** Databases from the config file; `--db` replaces them. */
  databases: string[];
  /** The config file read, if any. */
  configPath: string | null;
}

export const DEFAULT_POLICY: Readonly<AuditPolicy> = Object.freeze({
  ignores: [],
  deny: [],
  severityThreshold: 'none',
  unscored: 'critical',
  maxDatabaseAgeDays: 30,
  staleDatabase: 'warn',
  omit: [],
  databases: [],
  configPath: null,
});

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function fail(file: string, message: string): never {
  throw new InputError(file, message);
}

/** The informational advisory kinds a policy can deny (every kind but vulnerability). */
export const INFORMATIONAL_KINDS: readonly AdvisoryKind[] = ADVISORY_KINDS.filter((k) => k !== 'vulnerability');

/**
 * The kinds a `deny` value names: one informational kind, or `informational` for all three (as
 * `--deny informational` and stowage.toml's `deny` both take it); null for anything else.
 */
export function deniedKinds(value: unknown): readonly AdvisoryKind[] | null {
  if (value === 'informational') return INFORMATIONAL_KINDS;
  const kind = INFORMATIONAL_KINDS.find((k) => k === value);
  return kind === undefined ? null : [kind];
}

function stringList(file: string, key: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(file, `${key} must be a list of strings`);
  return value as string[];
}

function oneOf<T extends string>(file: string, key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(file, `${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as T;
}

export function parseIgnoreDate(file: string, key: string, value: unknown): string {
  if (value instanceof TomlDate) {
    const iso = value.toISOString().slice(0, 10);
    if (DATE.test(iso)) return iso;
  }
  if (typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value))) return value;
  return fail(file, `${key} must be a date like 2026-12-31 (got ${JSON.stringify(String(value))})`);
}

function parseIgnore(file: string, index: number, value: unknown): IgnoreRule {
  const where = `audit.ignore[${index}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(file, `${where} must be a table`);
  const entry = value as Record<string, unknown>;
  for (const key of Object.keys(entry)) {
    if (!['id', 'reason', 'expires'].includes(key)) fail(file, `${where}: unknown key "${key}" (expected id, reason, expires)`);
  }
  if (typeof entry.id !== 'string' || entry.id.trim() === '') fail(file, `${where}: id is required`);
  if (typeof entry.reason !== 'string' || entry.reason.trim() === '') {
    fail(file, `${where} (${entry.id}): a reason is required for every ignore`);
  }
  const expires = entry.expires === undefined ? null : parseIgnoreDate(file, `${where}.expires`, entry.expires);
  return { id: entry.id.trim(), reason: entry.reason.trim(), expires, origin: file };
}

/** Reads `stowage.toml`; unknown keys are errors, since a mistyped policy would silently not apply. */
export function loadPolicyFile(file: string): AuditPolicy {
  return parsePolicy(file, readPolicyText(file));
}

/** The policy file's text, refused past 4 MiB (no policy comes near). */
export function readPolicyText(file: string): string {
  return readTextInput(file, 4 * 1024 * 1024);
}

/** A policy from its text (read by readPolicyText, or kept by the fleet with a revision); `file` names it in errors. */
export function parsePolicy(file: string, text: string): AuditPolicy {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      throw new InputError(file, err.message.split('\n')[0] ?? 'invalid TOML', { line: err.line, column: err.column });
    }
    throw err;
  }
  const policy: AuditPolicy = { ...DEFAULT_POLICY, ignores: [], configPath: file };
  for (const key of Object.keys(doc)) {
    if (key !== 'audit') fail(file, `unknown table [${key}] (expected [audit])`);
  }
  const audit = doc.audit ?? {};
  if (typeof audit !== 'object' || audit === null || Array.isArray(audit)) fail(file, '[audit] must be a table');
  for (const [key, value] of Object.entries(audit as Record<string, unknown>)) {
    switch (key) {
      case 'ignore':
        if (!Array.isArray(value)) fail(file, 'audit.ignore must be an array of tables ([[audit.ignore]])');
        policy.ignores = value.map((v, i) => parseIgnore(file, i, v));
        break;
      case 'deny':
        policy.deny = [...new Set(stringList(file, 'audit.deny', value).flatMap((k) =>
          deniedKinds(k) ?? fail(file, `audit.deny must be one of ${[...INFORMATIONAL_KINDS, 'informational'].join(', ')} (got ${JSON.stringify(k)})`),
        ))];
        break;
      case 'severity-threshold':
        policy.severityThreshold = oneOf(file, 'audit.severity-threshold', value, SEVERITY_LEVELS);
        break;
      case 'unscored':
        policy.unscored = oneOf(file, 'audit.unscored', value, SEVERITY_LEVELS);
        break;
      case 'max-db-age':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          fail(file, 'audit.max-db-age must be a whole number of days');
        }
        policy.maxDatabaseAgeDays = value;
        break;
      case 'stale-db':
        policy.staleDatabase = oneOf(file, 'audit.stale-db', value, ['warn', 'fail'] as const);
        break;
      case 'omit':
        policy.omit = stringList(file, 'audit.omit', value).map((k) => oneOf(file, 'audit.omit', k, OMITTABLE));
        break;
      case 'db':
        // A path is relative to the policy file, wherever stowage runs from; a URL stays as it is.
        policy.databases = stringList(file, 'audit.db', value).map((db) =>
          URL_LIKE.test(db) || isAbsolute(db) ? db : resolve(dirname(file), db),
        );
        break;
      default:
        fail(
          file,
          `unknown key audit.${key} (expected ignore, deny, severity-threshold, unscored, max-db-age, stale-db, omit, db)`,
        );
    }
  }
  return policy;
}

/** `--config FILE`, else `stowage.toml` beside the first audited path, else the defaults. */
export function findPolicyFile(explicit: string | undefined, firstPath: string): string | null {
  if (explicit) {
    if (!existsSync(explicit)) throw new StowageError('--config: no such file', explicit);
    return explicit;
  }
  const full = resolve(firstPath);
  let dir: string;
  try {
    dir = statSync(full).isDirectory() ? full : dirname(full);
  } catch {
    dir = dirname(full);
  }
  const candidate = join(dir, CONFIG_FILE_NAME);
  return existsSync(candidate) ? candidate : null;
}

/** `--ignore ID=REASON`: the same rule as in the file, reason required. */
export function parseIgnoreFlag(flag: string): IgnoreRule {
  const eq = flag.indexOf('=');
  const id = (eq === -1 ? flag : flag.slice(0, eq)).trim();
  const reason = eq === -1 ? '' : flag.slice(eq + 1).trim();
  if (!id) throw new StowageError(`--ignore ${flag}: expected ID=REASON`);
  if (!reason) throw new StowageError(`--ignore ${id}: a reason is required (--ignore ${id}="why this risk is accepted")`);
  return { id, reason, expires: null, origin: '--ignore' };
}
