/**
 * A table's value for a key from untrusted input (a crate name, an OSV ecosystem, an SPDX
 * relationship type): its own entries only. A plain object literal also answers `constructor`,
 * `toString` or `__proto__` from Object.prototype, which a crate may be named and an advisory
 * or SBOM may say; read as an entry, that became an ecosystem, an edge or an internal error.
 */
export function ownValue<V>(table: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
