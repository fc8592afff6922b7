import { basename } from 'node:path';
import type { DependencyGraph } from '../core/graph.js';

/**
 * What shipped, as a whole: a package, an image, an installed tree or one binary, holding the
 * applications that are audited (each Rust binary, each node_modules root, the package's own
 * record of what it bundles). An SBOM describes the artifact and lists them as its parts.
 */
export type ShippedKind = 'Debian package' | 'RPM' | 'source RPM' | 'image' | 'installed tree' | 'binary';

export interface ShippedArtifact {
  /** The path given (the graphs of its parts are named `PATH` or `PATH:INNER`). */
  path: string;
  kind: ShippedKind;
  name: string;
  /** Null when the artifact does not say (an installed tree, a binary without `.dep-v0`). */
  version: string | null;
}

/** What a reader of a shipped artifact returns: the artifact's own name, and its applications. */
export interface ShippedRead {
  artifact: ShippedArtifact;
  graphs: DependencyGraph[];
  /** What the artifact holds that is not audited (a Go executable), said beside the report. */
  warnings?: string[];
}

/** An artifact that names itself by its file name only (an installed tree, an image without a tag). */
export function namedByFile(path: string, kind: ShippedKind): ShippedArtifact {
  return { path, kind, name: basename(path.replace(/\/+$/, '')) || path, version: null };
}
