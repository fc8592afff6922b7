import { InputError } from '../../core/errors.js';
import type { DependencyGraph } from '../../core/graph.js';
import { inventoryGraph } from '../inventory.js';
import { isShippedBinary, rustBinaryGraphs } from '../packaged-binaries.js';
import { parseRelations } from './control.js';
import { readDebPackage } from './deb-package.js';
import { cratesOfRelations, type DebianCrate } from './rust-packages.js';
import { inventoryDisagreements, respellFrom } from '../inventory-comparison.js';
import type { ShippedRead } from '../shipped-artifact.js';
import type { ShippedLimits } from '../shipped-limits.js';

/** The fields in which Debian records the crates statically linked into a package's binaries. */
const CRATE_FIELDS = ['X-Cargo-Built-Using', 'Static-Built-Using'] as const;

/**
 * A `.deb` as applications to audit, side by side: the crates its control fields say were
 * built in (one graph, named by the fields read), and each Rust binary it installs, as read
 * from the binary itself. Where they disagree, the report shows both and a warning says how.
 */
export async function readDeb(path: string, bytes: Buffer, limits?: ShippedLimits): Promise<ShippedRead> {
  const deb = await readDebPackage(bytes, path, (_file, data) => isShippedBinary(data), limits);
  const name = deb.control.get('package');
  const version = deb.control.get('version');
  if (name === undefined || version === undefined) throw new InputError(`${path}:control`, 'no Package or Version field');

  const read: (typeof CRATE_FIELDS)[number][] = [];
  const crates: DebianCrate[] = [];
  const others: string[] = [];
  for (const field of CRATE_FIELDS) {
    const value = deb.control.get(field.toLowerCase());
    if (value === undefined) continue;
    read.push(field);
    const found = cratesOfRelations(parseRelations(value, field, path), field, path);
    crates.push(...found.crates);
    others.push(...found.others);
  }
  const binaries = rustBinaryGraphs(deb.files, path);
  if (read.length === 0 && binaries.length === 0) {
    throw new InputError(path, `nothing to audit: no ${CRATE_FIELDS.join(' or ')} field and no Rust binary in ${name} ${version}`);
  }
  const graphs: DependencyGraph[] = [];
  if (read.length > 0) {
    const warnings = others.length > 0 ? [`${path}: ${read.join(', ')} also names what is not a crate, not audited: ${[...new Set(others)].join(', ')}`] : [];
    const fields = inventoryGraph({
      ecosystem: 'cargo',
      path,
      format: `Debian package ${read.join(' + ')}`,
      // Both fields, when both are there, record the same build: named by the older one.
      inventory: read[0] === 'X-Cargo-Built-Using' ? 'X-Cargo-Built-Using' : 'Static-Built-Using',
      application: { name, version },
      // debcargo lower-cases names and writes `_` as `-`: the binaries' own spelling, when they name the crate.
      packages: crates.map((c) => ({ name: respellFrom(binaries, c.name), version: c.version })),
      warnings,
    });
    for (const binary of binaries) (fields.warnings ??= []).push(...inventoryDisagreements(fields, binary));
    if (fields.warnings?.length === 0) delete fields.warnings;
    graphs.push(fields);
  }
  return { artifact: { path, kind: 'Debian package', name, version }, graphs: [...graphs, ...binaries] };
}
