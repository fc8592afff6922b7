import { StowageError } from '../core/errors.js';
import { shellOperand } from '../core/shell-word.js';
import { terminalText } from '../core/terminal-text.js';
import { revisionHexPrefix } from './revision.js';
import type { AppRecord, FleetSettings, FleetStore, RevisionRecord, SnapshotRecord } from './store/store.js';

/** What users name on the command line, found in the store, or one line and exit 2. */

/** Where to look for what is there instead: a command for the command line, an API path (under /api/v1) for the server. */
export interface SeeAlso {
  command: string;
  apiPath: string;
}

/**
 * Something named that the fleet does not hold (the server answers 404 for it). The message
 * says what is missing; `see` where to look instead, rendered by whoever answers: the command
 * line's line names a command, the API's a GET address (an HTTP client has no command line).
 */
export class NotInFleetError extends StowageError {
  constructor(
    readonly missing: string,
    readonly see: SeeAlso | null = null,
  ) {
    super(see === null ? missing : `${missing} (see ${see.command})`);
  }
}

export function noSuchApp(name: string): NotInFleetError {
  return new NotInFleetError(`no application named ${JSON.stringify(name)} in the fleet`, { command: 'stowage fleet status', apiPath: '/apps' });
}

export async function requireSettings(store: FleetStore): Promise<FleetSettings> {
  const settings = await store.settings();
  if (settings === null) throw new StowageError('no fleet here yet: create it with stowage fleet init --db SOURCE', store.location);
  return settings;
}

export async function requireApp(store: FleetStore, name: string): Promise<AppRecord> {
  const app = await store.app(name);
  if (app === null) throw noSuchApp(name);
  return app;
}

export async function currentRevision(store: FleetStore, app: AppRecord): Promise<RevisionRecord> {
  const revision = app.currentRevision === null ? null : await store.revision(app.currentRevision);
  if (revision === null) throw new StowageError(`application ${JSON.stringify(app.name)} has no revision`);
  return revision;
}

/** A revision of APP named `sha256:HEX` or by at least 12 hex digits; ambiguous or unknown: exit 2. */
export async function resolveRevision(store: FleetStore, app: AppRecord, given: string): Promise<RevisionRecord> {
  const prefix = revisionHexPrefix(given, app.name);
  const found = await store.revisionsByPrefix(app.id, prefix);
  if (found.length === 0) {
    throw new NotInFleetError(`application ${JSON.stringify(app.name)} has no revision ${terminalText(given)}`, {
      command: `stowage fleet history ${shellOperand(app.name)}`,
      apiPath: `/apps/${encodeURIComponent(app.name)}/history`,
    });
  }
  if (found.length > 1) {
    throw new StowageError(`revision ${terminalText(given)} of ${JSON.stringify(app.name)} is ambiguous: ${found.map((r) => r.digest.slice(0, 7 + 16)).join(', ')}; give more digits`);
  }
  return found[0] as RevisionRecord;
}

export async function requireSnapshot(store: FleetStore, name: string): Promise<SnapshotRecord> {
  const snapshot = await store.snapshot(name);
  if (snapshot === null) throw new NotInFleetError(`no snapshot named ${JSON.stringify(name)} in the fleet`);
  return snapshot;
}
