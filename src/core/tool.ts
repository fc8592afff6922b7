import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** stowage's own package.json, found upwards from this module (dist/src/core or dist/bundle). */
function ownManifest(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'stowage' && manifest.version) return { name: manifest.name, version: manifest.version };
    }
    const parent = dirname(dir);
    if (parent === dir) return { name: 'stowage', version: '0.0.0' };
    dir = parent;
  }
}

const manifest = ownManifest();
export const TOOL_NAME = manifest.name;
export const TOOL_VERSION: string = manifest.version;
