import { basename } from 'node:path';
import { URL_LIKE } from '../advisories/source.js';
import type { FleetStore } from '../fleet/store/store.js';

/**
 * What the server calls the fleet's advisory databases. The command line names a database by
 * its source (`fleet init --db`), and its JSON answers carry that source in each finding's
 * `databases`, a sync's `databases[].source` and the events: for a database on the server's
 * disk that is a file path of the server (`/srv/stowage/advisory-db`), which no caller of the
 * API or reader of the dashboard needs, and which a `--public-read` server would give anyone.
 * So every answer of the server names such a database by its last path component
 * (`advisory-db`, `rustsec.bundle#osv`, with ` (2)`, ` (3)` after a name another database
 * of the fleet has already); a URL (already without its credentials) is shown as it is, but a
 * `file:` URL, which is a path too, is named like one.
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

/**
 * JSON text with every string that is exactly a local source (a JSON string, quotes and all,
 * so a path inside a longer text is left alone) replaced by its shown name. Answers and events
 * are JSON made by JSON.stringify, which spells a given string one way.
 */
export type JsonRename = (json: string) => string;

export class DatabaseNames {
  private kept: { generation: string; rename: JsonRename } | null = null;

  constructor(private readonly store: FleetStore) {}

  /** The renaming for the store as it is now (kept while the store's generation holds). */
  async rename(): Promise<JsonRename> {
    const generation = await this.store.generation();
    if (generation !== null && this.kept?.generation === generation) return this.kept.rename;
    const rename = jsonRename(shownDatabaseNames(await this.sources()));
    this.kept = generation === null ? null : { generation, rename };
    return rename;
  }

  /** Every local source and its shown name, for the dashboard. */
  async names(): Promise<Map<string, string>> {
    return shownDatabaseNames(await this.sources());
  }

  /** The fleet's databases as configured, then any other the store still has a state of. */
  private async sources(): Promise<string[]> {
    const settings = await this.store.settings();
    const states = await this.store.databases();
    return [...new Set([...(settings?.databases ?? []), ...states.map((s) => s.source)])];
  }
}

function jsonRename(names: ReadonlyMap<string, string>): JsonRename {
  const pairs = [...names].map(([source, name]) => [JSON.stringify(source), JSON.stringify(name)] as const);
  if (pairs.length === 0) return (json) => json;
  return (json) => {
    let out = json;
    for (const [from, to] of pairs) if (out.includes(from)) out = out.split(from).join(to);
    return out;
  };
}
