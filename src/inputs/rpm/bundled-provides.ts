import type { Ecosystem } from '../../core/package.js';
import type { InventoryEntry } from '../inventory.js';

/**
 * What an RPM says it bundles, from its provides, as Fedora and openSUSE packaging writes them
 * (and `stowage package rpm`): `bundled(crate(NAME)) = VERSION`, with one more provide per
 * enabled feature, `bundled(crate(NAME/FEATURE))`; `bundled(nodejs-NAME)` (Fedora) and
 * `bundled(npm(NAME))` (openSUSE). RPM versions write a semver pre-release with `~` (rpm sorts
 * it before the release) and may carry an epoch and a release (`E:V-R`): the package version is V,
 * with `~` read back as `-`. A bundled provide without a version is listed apart: it cannot be
 * matched against advisories.
 */
export interface BundledProvides {
  packages: Map<Ecosystem, InventoryEntry[]>;
  unversioned: string[];
}

const BUNDLED = /^bundled\((?:crate\(([^()/]+)(?:\/[^()]*)?\)|npm\(([^()]+)\)|nodejs-([^()]+))\)$/;

export function bundledProvides(provides: readonly { name: string; version: string | null; range?: string }[]): BundledProvides {
  const packages = new Map<Ecosystem, InventoryEntry[]>();
  const unversioned: string[] = [];
  const seen = new Set<string>();
  for (const provide of provides) {
    const match = BUNDLED.exec(provide.name);
    if (!match) continue;
    const [, crate, npm, nodejs] = match;
    const ecosystem: Ecosystem = crate !== undefined ? 'cargo' : 'npm';
    const name = (crate ?? npm ?? nodejs) as string;
    if (provide.version === null) {
      unversioned.push(provide.range === undefined ? provide.name : `${provide.name} ${provide.range}`);
      continue;
    }
    const version = packageVersion(provide.version);
    const key = `${ecosystem} ${name}@${version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let list = packages.get(ecosystem);
    if (!list) packages.set(ecosystem, (list = []));
    list.push({ name, version });
  }
  return { packages, unversioned };
}

/** `E:V-R` -> V, `~` -> `-`: the upstream version a bundled provide records. */
function packageVersion(evr: string): string {
  const withoutEpoch = evr.replace(/^\d+:/, '');
  const dash = withoutEpoch.indexOf('-');
  const version = dash < 0 ? withoutEpoch : withoutEpoch.slice(0, dash);
  return version.replace('~', '-');
}
