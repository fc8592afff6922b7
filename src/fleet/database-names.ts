import { basename } from 'node:path';
import { URL_LIKE } from '../advisories/source.js';
import type { DatabaseState, FleetSettings } from './store/store.js';

/**
 * What the fleet shows of its advisory databases to anyone outside the machine: the server's
 * answers, its event stream and dashboard (src/server/database-names.ts), and the webhook's
 * events (webhooks.ts). The command line names a database by its source (`fleet init --db`), and
 * its JSON carries that source in each finding's `databases`, a sync's `databases[].source` and
 * the events: for a database on the server's disk that is a file path of the server
 * (`/srv/stowage/advisory-db`), which no caller of the API, reader of the dashboard or receiver
 * of a webhook needs. So such a database is named by its last path component (`advisory-db`,
 * `rustsec.bundle#osv`, with ` (2)`, ` (3)` after a name another database of the fleet has
 * already); a URL (already without its credentials) is shown as it is, but a `file:` URL, which
 * is a path too, is named like one.
 */

/** A source that names a place on the server's own disk (a path, or a `file:` URL). */
function isLocalSource(source: string): boolean {
  return !URL_LIKE.test(source) || /^file:/i.test(source);
}

/** The name of one local source: its last path component, `#REF` kept. */
function localName(source: string): string {
  const hash = source.lastIndexOf('#');
  const path = hash > 0 ? source.slice(0, hash) : source;
  const ref = hash > 0 ? source.slice(hash) : '';
  const last = basename(path.replace(/^file:(\/\/)?/i, '').replace(/\/+$/, ''));
  return `${last === '' ? 'database' : last}${ref}`;
}

/** Each local source of `sources` with its shown name, unique among them, in the order given. */
export function shownDatabaseNames(sources: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set(sources.filter((s) => !isLocalSource(s)));
  for (const source of sources) {
    if (!isLocalSource(source) || names.has(source)) continue;
    const base = localName(source);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base} (${n})`;
    taken.add(name);
    names.set(source, name);
  }
  return names;
}

/** A database's source as the server shows it. */
export function shownDatabaseName(names: ReadonlyMap<string, string>, source: string): string {
  return names.get(source) ?? (isLocalSource(source) ? localName(source) : source);
}

/** The fleet's databases as configured, then any other the store still has a state of. */
export function fleetDatabaseSources(settings: FleetSettings | null, states: readonly Pick<DatabaseState, 'source'>[]): string[] {
  return [...new Set([...(settings?.databases ?? []), ...states.map((s) => s.source)])];
}

/**
 * JSON text with every string that is exactly a local source (a JSON string, quotes and all,
 * so a path inside a longer text is left alone) replaced by its shown name. Answers and events
 * are JSON made by JSON.stringify, which spells a given string one way.
 */
export type JsonRename = (json: string) => string;

export function jsonRename(names: ReadonlyMap<string, string>): JsonRename {
  const pairs = [...names].map(([source, name]) => [JSON.stringify(source), JSON.stringify(name)] as const);
  if (pairs.length === 0) return (json) => json;
  return (json) => {
    let out = json;
    for (const [from, to] of pairs) if (out.includes(from)) out = out.split(from).join(to);
    return out;
  };
}
