import type { CachedDatabase } from '../../advisories/cache-inventory.js';
import { jsonForTerminal, terminalText } from '../../core/terminal-text.js';
import { TOOL_NAME, TOOL_VERSION } from '../../core/tool.js';
import { formatBytes } from '../output.js';

/** Bumped on an incompatible change to `stowage db … --format json` (schema/db-report.v1.json). */
const DB_REPORT_SCHEMA_VERSION = 1;

export function renderDbJson(databases: readonly CachedDatabase[]): string {
  const report = { schemaVersion: DB_REPORT_SCHEMA_VERSION, tool: { name: TOOL_NAME, version: TOOL_VERSION }, databases };
  return jsonForTerminal(JSON.stringify(report, null, 2) + '\n');
}

const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function counts(record: Readonly<Record<string, number | undefined>>): string {
  return Object.entries(record)
    .filter(([, n]) => n !== undefined && n > 0)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

/** One database, a few lines: `detailed` adds the counts by kind and the paths (db show). */
export function renderDbHuman(databases: readonly CachedDatabase[], detailed: boolean): string {
  const out: string[] = [];
  for (const db of databases) {
    const revision = db.revision.endsWith('-dirty') ? `${db.revision.slice(0, 12)}-dirty` : db.revision.slice(0, db.revision.startsWith('sha256:') ? 19 : 12);
    const date = db.revisionDate === null ? 'date unknown' : db.revisionDate.slice(0, 10);
    const age = db.ageDays === null ? '' : `, ${count(db.ageDays, 'day')} old`;
    const ecosystems = counts(db.ecosystems);
    out.push(terminalText(db.source));
    out.push(`  ${db.kind} @ ${revision} (${date}${age})`);
    out.push(`  ${count(db.advisories, 'advisory', 'advisories')}${ecosystems ? ` (${ecosystems})` : ''}${db.toolchainAdvisories > 0 ? `, ${db.toolchainAdvisories} toolchain` : ''}`);
    if (detailed) out.push(`  by kind: ${counts(db.kinds) || 'none'}`);
    out.push(`  ${db.fetchedAt === null ? 'read in place' : `fetched ${db.fetchedAt}`}, ${formatBytes(db.bytes)} in the cache`);
    if (detailed) {
      out.push(`  index: ${terminalText(db.index)}`);
      if (db.cached !== null) out.push(`  ${db.kind === 'git-remote' ? 'clone' : 'download'}: ${terminalText(db.cached)}`);
    } else {
      out.push(`  ${terminalText(db.cached ?? db.index)}`);
    }
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
