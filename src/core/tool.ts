import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** stowage's own package.json, found upwards from this module (dist/src/core or dist/bundle), and its directory. */
function ownManifest(): { name: string; version: string; root: string | null } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'stowage' && manifest.version) return { name: manifest.name, version: manifest.version, root: dir };
    }
    const parent = dirname(dir);
    if (parent === dir) return { name: 'stowage', version: '0.0.0', root: null };
    dir = parent;
  }
}

const manifest = ownManifest();
export const TOOL_NAME = manifest.name;
export const TOOL_VERSION: string = manifest.version;
/** The installed package's directory (it ships schema/), null when not found. */
export const TOOL_ROOT: string | null = manifest.root;
