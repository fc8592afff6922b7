import type { TomlTable, TomlValue } from 'smol-toml';
import { isTomlTable } from '../../core/toml-values.js';

/**
 * The dependency tables of a Cargo manifest, as Cargo reads them: `[dependencies]`,
 * `[build-dependencies]` and `[dev-dependencies]` (and their old `_` spellings), the manifest's
 * own and each `[target.'cfg(...)']`'s. The readers of manifests (the lockfile's workspace
 * layout and edge kinds, the check of a lockfile against its manifests, the fix planner's
 * requirements) walk them through here.
 */

export type DeclaredKind = 'normal' | 'build' | 'dev';

/** Each table name and the kind of dependency it declares. */
export const DEPENDENCY_TABLE_KINDS: ReadonlyArray<[table: string, kind: DeclaredKind]> = [
  ['dependencies', 'normal'],
  ['build-dependencies', 'build'],
  ['build_dependencies', 'build'],
  ['dev-dependencies', 'dev'],
  ['dev_dependencies', 'dev'],
];

/** Every dependency table `doc` writes, with its kind and its `[target.PLATFORM]` (null: the manifest's own): its own first, then each target's. */
export function* dependencyTables(doc: TomlTable): Generator<{ table: TomlTable; kind: DeclaredKind; platform: string | null }> {
  const owners: [TomlTable, string | null][] = [[doc, null]];
  if (isTomlTable(doc.target)) for (const [platform, body] of Object.entries(doc.target)) if (isTomlTable(body)) owners.push([body, platform]);
  for (const [owner, platform] of owners) {
    for (const [name, kind] of DEPENDENCY_TABLE_KINDS) {
      const table = owner[name];
      if (isTomlTable(table)) yield { table, kind, platform };
    }
  }
}

/**
 * A dependency as declared, a `workspace = true` entry completed from the root manifest's
 * `[workspace.dependencies]` (`inherited`): the member's keys over the root's, a root's bare
 * version string as `version`.
 */
export function declaredSpec(key: string, spec: TomlValue | undefined, inherited: TomlTable): TomlValue | undefined {
  if (!isTomlTable(spec) || spec.workspace !== true) return spec;
  const base = inherited[key];
  return isTomlTable(base) ? { ...base, ...spec } : typeof base === 'string' ? { ...spec, version: base } : spec;
}

/** A crate name as crates.io compares it: letter case and `-`/`_` do not tell two crates apart. */
export function crateKey(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}
