import { InputError } from '../../core/errors.js';
import type { DependencyGraph } from '../../core/graph.js';
import { inventoryGraph } from '../inventory.js';
import { isTreeInventoryFile, treeApplications } from '../installed-tree.js';
import { parseRelations } from './control.js';
import { readDebPackage } from './deb-package.js';
import { cratesOfRelations, type DebianCrate } from './rust-packages.js';
import { inventoryDisagreements, respellFrom } from '../inventory-comparison.js';
import type { ShippedRead } from '../shipped-artifact.js';
import type { ShippedLimits } from '../shipped-limits.js';

/**
 * What dpkg finds wrong with a package's name or version (its pkg_name_is_illegal and
 * parseversion), or null: a package dpkg never installs is not what shipped, and its name and
 * version (a report's application, an SBOM's) would carry whatever bytes the control file holds.
 */
function controlIdentityProblem(name: string, version: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9+._-]*$/.test(name)) return `Package ${JSON.stringify(name)} is not a package name (letters, digits and "+-._", starting with a letter or digit)`;
  const valid = version.includes(':') ? /^[0-9]+:[A-Za-z0-9.+~:-]+$/ : /^[A-Za-z0-9.+~-]+$/;
  if (!valid.test(version) || version.endsWith('-')) return `Version ${JSON.stringify(version)} is not a Debian version ([EPOCH:]UPSTREAM[-REVISION] of letters, digits and ".+~-")`;
  return null;
}

/** The fields in which Debian records the crates statically linked into a package's binaries. */
const CRATE_FIELDS = ['X-Cargo-Built-Using', 'Static-Built-Using'] as const;

/**
 * Debian policy's field for the sources a package's binaries incorporate. debcargo recorded every
 * crate there before X-Cargo-Built-Using (Debian 10's Rust packages), and still records those
 * whose licences need it (a crate bundling C code, `rust-onig-sys`): its `rust-*` relations are
 * crates too. Its other relations (`rustc`, `gcc-12`, `glibc`, Go's sources) are the toolchain or
 * C and Go sources, named there whatever the language, so they go unmentioned.
 */
const BUILT_USING = 'Built-Using';

/**
 * A `.deb` as applications to audit, side by side: the crates its control fields say were
 * built in (one graph, named by the fields read), and each Rust binary it installs, as read
 * from the binary itself. Where they disagree, the report shows both and a warning says how.
 */
export async function readDeb(path: string, bytes: Buffer, limits?: ShippedLimits): Promise<ShippedRead> {
  const deb = await readDebPackage(bytes, path, isTreeInventoryFile, limits);
  const name = deb.control.get('package');
  const version = deb.control.get('version');
  if (name === undefined || version === undefined) throw new InputError(`${path}:control`, 'no Package or Version field');
  const unnamed = controlIdentityProblem(name, version);
  if (unnamed !== null) throw new InputError(`${path}:control`, `${unnamed}: dpkg refuses to install it`);

  const read: ((typeof CRATE_FIELDS)[number] | typeof BUILT_USING)[] = [];
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
  const builtUsing = deb.control.get(BUILT_USING.toLowerCase());
  if (builtUsing !== undefined) {
    const found = cratesOfRelations(parseRelations(builtUsing, BUILT_USING, path), BUILT_USING, path).crates;
    if (found.length > 0) read.push(BUILT_USING);
    crates.push(...found);
  }
  // What it installs, read as an installed tree: each Rust binary, and each node_modules it ships
  // (an Electron or Node application's), which no control field records.
  const { graphs: installed, warnings: unaudited } = treeApplications(deb.files, path, deb.symlinks, true);
  const binaries = installed.filter((g) => g.ecosystem === 'cargo');
  if (read.length === 0 && installed.length === 0) {
    throw new InputError(path, `nothing to audit: no ${CRATE_FIELDS.join(' or ')} field, no Rust binary and no node_modules in ${name} ${version}`);
  }
  const graphs: DependencyGraph[] = [];
  if (read.length > 0) {
    const warnings = others.length > 0 ? [`${path}: ${read.filter((f) => f !== BUILT_USING).join(', ')} also names what is not a crate, not audited: ${[...new Set(others)].join(', ')}`] : [];
    const fields = inventoryGraph({
      ecosystem: 'cargo',
      path,
      format: `Debian package ${read.join(' + ')}`,
      // The fields, when several are there, record the same build: named by the first read.
      inventory: read[0] as (typeof read)[number],
      application: { name, version },
      // debcargo lower-cases names and writes `_` as `-`: the binaries' own spelling, when they name the crate.
      packages: crates.map((c) => ({ name: respellFrom(binaries, c.name), version: c.version })),
      warnings,
    });
    for (const binary of binaries) (fields.warnings ??= []).push(...inventoryDisagreements(fields, binary));
    if (fields.warnings?.length === 0) delete fields.warnings;
    graphs.push(fields);
  }
  return { artifact: { path, kind: 'Debian package', name, version }, graphs: [...graphs, ...installed], warnings: unaudited };
}
