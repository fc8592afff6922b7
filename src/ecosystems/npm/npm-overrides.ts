import * as semver from '../../core/semver.js';
import { parseNpmSpecifier } from './registry-source.js';

/**
 * One rule of package.json's `overrides`, as npm 11 reads them (arborist's OverrideSet): a key
 * `name` or `name@range`, the version it sets (a string value, or the `"."` of an object), and
 * the rules nested under it, which hold only below a package the rule matched
 * (`{"mkdirp": {"minimist": "1.2.6"}}`: minimist wherever mkdirp's dependencies reach it).
 */
export interface OverrideRule {
  name: string;
  /** The key's range; `*` for a bare name. */
  keySpec: string;
  /** The value as written (`1.2.6`, `$minimist`), undefined when the rule only scopes its children. */
  written: string | undefined;
  /**
   * The range it sets (an `npm:NAME@RANGE` alias's range), `$name` replaced by the root's
   * specifier of that dependency; null when it is none stowage can check.
   */
  range: string | null;
  /** The tarball URL it sets (`https://…/x-1.0.0.tgz`): npm ci accepts only a package resolved from exactly that URL. */
  tarball: string | null;
  /** The keys from the top down to this rule. */
  path: string[];
  children: OverrideRule[];
  parent: OverrideRule | null;
}

/**
 * The root rule of a manifest's `overrides` (it sets nothing; its children are the top-level
 * keys), or null when there are none. `own` is the root's dependencies by name, for `$name`.
 */
export function readNpmOverrides(overrides: unknown, own: Readonly<Record<string, unknown>>): OverrideRule | null {
  if (!isObject(overrides)) return null;
  const root: OverrideRule = { name: '', keySpec: '*', written: undefined, range: null, tarball: null, path: [], children: [], parent: null };
  addChildren(root, overrides, own);
  return root.children.length > 0 ? root : null;
}

function addChildren(parent: OverrideRule, value: Record<string, unknown>, own: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(value)) {
    if (key === '.') continue;
    const child = value[key];
    const at = key.indexOf('@', 1);
    const name = at < 0 ? key : key.slice(0, at);
    const keySpec = at < 0 || key.slice(at + 1) === '' ? '*' : key.slice(at + 1);
    const written = typeof child === 'string' ? child : isObject(child) && typeof child['.'] === 'string' ? child['.'] : undefined;
    const spec = overrideSpec(written, own);
    const parsed = spec === null ? null : parseNpmSpecifier(spec);
    const range = parsed?.type === 'range' ? parsed.range : parsed?.type === 'alias' ? parsed.range : null;
    const rule: OverrideRule = {
      name,
      keySpec,
      written,
      range: range !== null && semver.validRange(range, { loose: true }) !== null ? range : null,
      tarball: parsed?.type === 'tarball' ? parsed.url : null,
      path: [...parent.path, key],
      children: [],
      parent,
    };
    parent.children.push(rule);
    if (isObject(child)) addChildren(rule, child, own);
  }
}

/**
 * The specifier a rule sets, `$name` replaced by the root's specifier of that dependency. npm
 * checks an alias (`npm:minimist@1.2.6`) by its range, as arborist's depValid does, and a tarball
 * URL by the locked `resolved`: npm 11 ci refuses a lockfile whose minimist 0.0.8 such an override
 * no longer accepts, and npm install installs what it sets.
 */
function overrideSpec(written: string | undefined, own: Readonly<Record<string, unknown>>): string | null {
  if (written === undefined) return null;
  const spec = written.startsWith('$') ? own[written.slice(1)] : written;
  return typeof spec === 'string' ? spec : null;
}

/**
 * The rule that governs a dependency `name@spec` declared by a package under `context` (the
 * rule that matched it or an ancestor), or undefined when none does: arborist's getEdgeRule.
 * The rules looked at are the context's children, then the context itself, then its parent's
 * children and the parent itself, up to the top level; the first whose name is the dependency's
 * and whose key range the specifier's range can meet is it (any specifier that is no range, such
 * as a git URL or a tag, meets every key range, as npm takes it).
 */
export function overrideRuleFor(context: OverrideRule, name: string, spec: string): OverrideRule | undefined {
  for (let scope: OverrideRule | null = context; scope !== null; scope = scope.parent) {
    for (const rule of scope.children) if (matches(rule, name, spec)) return rule;
    if (scope.parent !== null && matches(scope, name, spec)) return scope;
  }
  return undefined;
}

function matches(rule: OverrideRule, name: string, spec: string): boolean {
  if (rule.name !== name) return false;
  if (rule.keySpec === '*') return true;
  const parsed = parseNpmSpecifier(spec);
  const range = parsed.type === 'range' ? parsed.range : parsed.type === 'alias' ? parsed.range : null;
  if (range === null || semver.validRange(range, { loose: true }) === null || semver.validRange(rule.keySpec, { loose: true }) === null) return true;
  return semver.intersects(range, rule.keySpec, { loose: true });
}

/** How a rule is named in a warning: `minimist@1.2.6`, or with its keys when it is nested or keyed by a range. */
export function overrideLabel(rule: OverrideRule): string {
  const plain = rule.path.length === 1 && rule.keySpec === '*';
  return `${rule.name}@${rule.written ?? ''} (an override${plain ? '' : ` of ${rule.path.join(' > ')}`})`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
