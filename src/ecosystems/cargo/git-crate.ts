import { parse, type TomlTable } from 'smol-toml';
import { StowageError } from '../../core/errors.js';
import type { GitCheckout } from '../../core/git-checkout.js';
import type { Package } from '../../core/package.js';
import { isTomlTable } from '../../core/toml-values.js';

/**
 * The manifest of one crate of a git checkout, as cargo finds it: the Cargo.toml whose package
 * is that name (the repository may be a workspace) and version. `dir`: its directory in the tree.
 */
export async function gitCrateManifest(checkout: Pick<GitCheckout, 'tree' | 'blobs'>, pkg: Package, label: string): Promise<{ dir: string; manifest: TomlTable; path: string }> {
  const manifestEntries = [...checkout.tree.values()].filter(
    (e) => e.type === 'blob' && (e.path === 'Cargo.toml' || e.path.endsWith('/Cargo.toml')) && !e.path.split('/').includes('target'),
  );
  const manifests = await checkout.blobs(manifestEntries.map((e) => e.object));
  const candidates: { dir: string; manifest: TomlTable; path: string }[] = [];
  for (const entry of manifestEntries) {
    let doc: TomlTable;
    try {
      doc = parse((manifests.get(entry.object) as Buffer).toString('utf8'));
    } catch {
      continue; // Cargo skips manifests it cannot read when it searches a repository.
    }
    if (isTomlTable(doc.package) && doc.package.name === pkg.name) {
      candidates.push({ dir: entry.path === 'Cargo.toml' ? '' : entry.path.slice(0, -'/Cargo.toml'.length), manifest: doc, path: entry.path });
    }
  }
  const matching = candidates.filter((c) => {
    const version = isTomlTable(c.manifest.package) ? c.manifest.package.version : undefined;
    return version === undefined || typeof version !== 'string' || version === pkg.version;
  });
  if (matching.length === 0) {
    throw new StowageError(`${label}: no Cargo.toml in the repository declares package ${pkg.name} version ${pkg.version}`);
  }
  if (matching.length > 1) {
    throw new StowageError(`${label}: several manifests declare package ${pkg.name}: ${matching.map((c) => c.path).join(', ')}`);
  }
  return matching[0] as (typeof matching)[number];
}
