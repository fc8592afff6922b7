import { parseSyml } from '@yarnpkg/parsers';
import { InputError } from '../../core/errors.js';
import type { Edge, EdgeKind } from '../../core/graph.js';

/*
 * What the pnpm-lock.yaml and yarn.lock readers share: the package.json beside the lockfile,
 * their deduplicated edge lists, and the line numbers and errors of the YAML they read with
 * @yarnpkg/parsers' parseSyml (which keeps no positions of its own).
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The package.json beside the lockfile, as a JSON object. */
export function readManifestObject(path: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(path, `not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(value)) throw new InputError(path, 'package.json must hold a JSON object');
  return value;
}

/** Adds the edge unless it is a self-edge or already added; `seen` holds the added ones' keys. */
export function pushEdge(edges: Edge[], seen: Set<string>, from: string, to: string, kind: EdgeKind): void {
  const key = `${from}\0${to}\0${kind}`;
  if (seen.has(key) || from === to) return;
  seen.add(key);
  edges.push({ from, to, kind });
}

/**
 * Line of the mapping key `key` written at `indent` (bare, single- or double-quoted), for
 * messages about its entry; null when it is not found.
 */
export function lineOfKey(text: string, key: string, indent: string): number | null {
  for (const form of [`${indent}${key}:`, `${indent}"${key}":`, `${indent}'${key}':`]) {
    if (text.startsWith(form)) return 1;
    const found = text.indexOf(`\n${form}`);
    if (found >= 0) return text.slice(0, found).split('\n').length + 1;
  }
  return null;
}

/**
 * The line of each key of a block mapping written at `indent` (`""` top level; `"  "` under
 * `section:`), as yarn berry and pnpm write their entries: for reports that point at an
 * entry. Quoted keys are unquoted (YAML's `''` and JSON-style `\"` escapes); a key spelt
 * otherwise is not found (locations are optional).
 */
export function blockKeyLines(text: string, indent: string, section?: string): Map<string, number> {
  const found = new Map<string, number>();
  const lines = text.split('\n');
  let inside = section === undefined;
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (section !== undefined && line !== '' && !line.startsWith(' ') && !line.startsWith('#')) {
      inside = line === `${section}:`;
      continue;
    }
    if (!inside || !line.startsWith(indent) || line.length <= indent.length || /[\s#]/.test(line[indent.length] as string) || !line.endsWith(':')) continue;
    const written = line.slice(indent.length, -1);
    let key = written;
    if (written.startsWith("'") && written.endsWith("'")) key = written.slice(1, -1).replace(/''/g, "'");
    else if (written.startsWith('"') && written.endsWith('"')) {
      try {
        key = JSON.parse(written) as string;
      } catch {
        continue;
      }
    }
    if (!found.has(key)) found.set(key, i + 1);
  }
  return found;
}

/** parseSyml (js-yaml 4, failsafe schema), with a syntax error as an InputError at its line:column. */
export function parseYamlText(path: string, text: string): unknown {
  try {
    return parseSyml(text);
  } catch (err) {
    throw yamlError(path, err);
  }
}

/** A parseSyml failure as an InputError at js-yaml's line:column. */
function yamlError(path: string, err: unknown): InputError {
  // js-yaml (under parseSyml) marks are 0-based.
  const mark = isRecord(err) && isRecord(err.mark) ? err.mark : null;
  const reason = isRecord(err) && typeof err.reason === 'string' ? err.reason : err instanceof Error ? err.message.split('\n')[0] : String(err);
  if (mark && typeof mark.line === 'number') {
    const column = typeof mark.column === 'number' ? mark.column + 1 : undefined;
    return new InputError(path, `invalid YAML: ${reason}`, { line: mark.line + 1, column });
  }
  return new InputError(path, `invalid YAML: ${reason}`);
}
