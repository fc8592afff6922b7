import type { TomlTable, TomlValue } from 'smol-toml';

/* Shape checks on parsed TOML (smol-toml), shared by every reader of Cargo and RustSec files. */

/** A table: an object that is neither an array nor a date (smol-toml's TomlDate is a Date). */
export function isTomlTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The strings of an array value (others dropped); an empty list when it is not an array. */
export function tomlStrings(value: TomlValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Whether a document read with integers as BigInt holds one past Number's safe range: smol-toml
 * refuses such a document when integers are read as numbers (its default).
 */
export function holdsUnsafeInteger(value: TomlValue): boolean {
  if (typeof value === 'bigint') return value > MAX_SAFE || value < -MAX_SAFE;
  if (Array.isArray(value)) return value.some(holdsUnsafeInteger);
  if (isTomlTable(value)) {
    for (const key in value) if (holdsUnsafeInteger(value[key] as TomlValue)) return true;
  }
  return false;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
