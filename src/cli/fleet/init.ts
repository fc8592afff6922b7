import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { URL_LIKE } from '../../advisories/source.js';
import type { SeverityLevel } from '../../core/advisory.js';
import { cacheDir } from '../../core/cache-dir.js';
import { redactCredentials } from '../../core/credentials.js';
import { parseAllowedRegistry } from '../../core/registry-allowance.js';
import { fetchPolicyOf } from '../audit-options.js';
import { StowageError } from '../../core/errors.js';
import { closeDatabases, openFleetDatabases } from '../../fleet/evaluate.js';
import type { DatabaseState, FleetSettings } from '../../fleet/store/store.js';
import { terminalText as t } from '../../core/terminal-text.js';
import type { FleetDatabaseOptions } from './index.js';
import { writeStdout } from '../output.js';
import { plural } from '../../audit/report/human.js';
import { withFleetStore } from './with-store.js';

export interface FleetInitOptions extends FleetDatabaseOptions {
  db?: string[];
  webhook?: string;
  webhookSecretFile?: string;
  failOn?: SeverityLevel;
  allowRegistry?: string[];
}

/** Local paths are kept absolute (a `#branch` kept as given): the fleet is used from any directory. */
function absoluteSource(source: string): string {
  if (URL_LIKE.test(source) || isAbsolute(source)) return source;
  const hash = source.lastIndexOf('#');
  return hash > 0 && !source.slice(hash).includes('/') ? resolve(source.slice(0, hash)) + source.slice(hash) : resolve(source);
}

/** The settings the flags ask for, over the current ones (a flag not given keeps its setting). */
function requestedSettings(old: FleetSettings | null, opts: FleetInitOptions): FleetSettings {
  if (old === null && (opts.db === undefined || opts.db.length === 0)) {
    throw new StowageError('a new fleet needs its advisory databases: stowage fleet init --db SOURCE [--db SOURCE...]');
  }
  let webhook = old?.webhook ?? null;
  if (opts.webhook !== undefined) {
    if (opts.webhook === '') webhook = null;
    else {
      if (!URL.canParse(opts.webhook) || !/^https?:$/.test(new URL(opts.webhook).protocol)) throw new StowageError(`--webhook ${redactCredentials(opts.webhook)}: expected an http:// or https:// URL`);
      webhook = { url: opts.webhook, secretFile: webhook?.secretFile ?? null };
    }
  }
  if (opts.webhookSecretFile !== undefined) {
    if (webhook === null) throw new StowageError('--webhook-secret-file needs a webhook (--webhook URL)');
    const file = resolve(opts.webhookSecretFile);
    if (!existsSync(file)) throw new StowageError('--webhook-secret-file: no such file', opts.webhookSecretFile);
    webhook = { ...webhook, secretFile: file };
  }
  return {
    databases: opts.db?.map(absoluteSource) ?? old?.databases ?? [],
    webhook,
    failOn: opts.failOn ?? old?.failOn ?? null,
    allowedRegistries:
      opts.allowRegistry !== undefined ? opts.allowRegistry.filter((r) => r !== '').map((r) => parseAllowedRegistry(r.replace(/^(?:sparse|registry)\+/, ''))) : (old?.allowedRegistries ?? []),
  };
}

function describeChanges(old: FleetSettings, now: FleetSettings): string[] {
  const changes: string[] = [];
  if (JSON.stringify(old.databases) !== JSON.stringify(now.databases)) changes.push(`databases: ${old.databases.join(', ')} → ${now.databases.join(', ')}`);
  if (JSON.stringify(old.webhook) !== JSON.stringify(now.webhook)) {
    const show = (w: FleetSettings['webhook']): string => (w === null ? '(none)' : `${redactCredentials(w.url)}${w.secretFile ? ` (secret ${w.secretFile})` : ''}`);
    changes.push(`webhook: ${show(old.webhook)} → ${show(now.webhook)}`);
  }
  const registries = (s: FleetSettings): string => (s.allowedRegistries ?? []).join(', ') || '(the public ones only)';
  if (registries(old) !== registries(now)) changes.push(`campaign registries: ${registries(old)} → ${registries(now)}`);
  if (old.failOn !== now.failOn) changes.push(`fail-on: ${old.failOn ?? '(audit default)'} → ${now.failOn ?? '(audit default)'}`);
  return changes;
}

export async function fleetInit(opts: FleetInitOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    const old = await store.settings();
    const settings = requestedSettings(old, opts);
    // Every database is opened (fetched if need be) before anything is written: one that cannot be read changes nothing.
    const databases = await openFleetDatabases(settings, { cacheRoot: opts.cacheDir ?? cacheDir(), fetch: fetchPolicyOf(opts.fetch) });
    const sources = databases.map((db) => db.source);
    closeDatabases(databases);
    settings.databases = settings.databases.map((s, i) => sources[i] ?? s);
    const changes = old === null ? [] : describeChanges(old, settings);
    const oldUrl = old?.webhook?.url ?? null;
    const newUrl = settings.webhook?.url ?? null;
    const policyChanged = old !== null && old.failOn !== settings.failOn;
    const reevaluate = await store.transaction(async (tx) => {
      const known = new Map((await tx.databases()).map((d) => [d.source, d]));
      const states: DatabaseState[] = databases.map((db, position) => ({
        source: db.source,
        position,
        kind: db.spec.kind,
        // A database already in the fleet keeps the revision its findings were computed with.
        revision: known.get(db.source)?.revision ?? null,
        revisionDate: known.get(db.source)?.revisionDate ?? null,
        evaluatedAt: known.get(db.source)?.evaluatedAt ?? null,
      }));
      const at = new Date().toISOString();
      await tx.putSettings(settings, at);
      await tx.putDatabases(states);
      // Events not yet delivered follow the webhook: a URL is changed because the receiver moved
      // or was mistyped, and those events never reached anyone. With no webhook they are dropped.
      if (old !== null && oldUrl !== newUrl) {
        const moved = await tx.redirectDeliveries(newUrl, at);
        if (moved > 0) changes.push(`${plural(moved, 'webhook event')} not yet delivered: ${newUrl === null ? 'dropped with the webhook' : `to be posted to ${redactCredentials(newUrl)}`}`);
      }
      // Each revision's findings say whether they fail the policy it was evaluated with: under
      // another --fail-on they are evaluated again, as `stowage audit` would judge them now.
      return policyChanged ? await tx.forgetEvaluations() : 0;
    });
    if (policyChanged) changes.push(`the next fleet sync evaluates ${plural(reevaluate, 'application')} again with the new fail-on (until then, status shows their findings as judged with the old one)`);
    if (old === null) writeStdout(`created the fleet in ${t(store.location)}, with ${t(settings.databases.join(', '))}\n`);
    else if (changes.length === 0) writeStdout(`nothing changed in ${t(store.location)}\n`);
    else writeStdout(`changed in ${t(store.location)}:\n${changes.map((c) => `  ${t(c)}\n`).join('')}`);
    return 0;
  });
}
