import { readFileSync } from 'node:fs';

/** stowage's own name and version, read from its package.json (dist/src/core -> root). */
export const TOOL_NAME = 'stowage';
export const TOOL_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
