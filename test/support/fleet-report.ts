import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AUDIT_REPORT_SCHEMA, type ReportFinding } from './audit-report.js';
import { readJsonSchema, schemaCheck, type JsonSchema, type SchemaCheck } from './json-schema.js';

/**
 * The fleet's JSON outputs as schema/fleet-*.v1.json describe them. runCli checks every
 * `stowage fleet ... --format json` a test runs against the schema of its subcommand.
 */

// Not PROJECT_ROOT from shared.js: shared.js imports this module.
const SCHEMAS = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'schema');

/** Subcommand -> the schema of its JSON output. */
const SCHEMA_OF: Record<string, string> = {
  status: 'fleet-apps',
  show: 'fleet-apps',
  affected: 'fleet-affected',
  sync: 'fleet-sync',
  add: 'fleet-add',
  history: 'fleet-history',
  snapshot: 'fleet-snapshot',
  diff: 'fleet-diff',
  promote: 'fleet-promote',
  rollback: 'fleet-promote',
  'campaign show': 'fleet-campaign',
  'campaign start': 'fleet-campaign',
};

export const fleetSchemaPath = (name: string): string => join(SCHEMAS, `${name}.v1.json`);

const compiled = new Map<string, SchemaCheck>();

export function checkFleetJson(schema: string, document: unknown): { valid: boolean; errors: string } {
  let check = compiled.get(schema);
  if (!check) {
    const audit = readJsonSchema(AUDIT_REPORT_SCHEMA);
    const references: Record<string, JsonSchema> = { [audit['$id'] as string]: audit };
    // fleet-apps holds the triage decision's definition that fleet-affected refers to.
    if (schema !== 'fleet-apps') {
      const apps = readJsonSchema(fleetSchemaPath('fleet-apps'));
      references[apps['$id'] as string] = apps;
    }
    check = schemaCheck(readJsonSchema(fleetSchemaPath(schema)), { draft2020: true, references });
    compiled.set(schema, check);
  }
  return check(document);
}

/** When `args` ran a fleet subcommand with --format json (exit 0 or 1): its output, checked against its schema. */
export function checkFleetOutput(args: readonly string[], stdout: string): void {
  if (args[0] !== 'fleet') return;
  const sub = args[1] === 'campaign' ? `campaign ${args[2] ?? ''}` : (args[1] ?? '');
  // promote and rollback of a whole snapshot, and the summary of status, write their own shapes.
  const schema =
    (sub === 'promote' || sub === 'rollback') && args.includes('--snapshot')
      ? 'fleet-snapshot-change'
      : sub === 'status' && args.includes('--summary')
        ? 'fleet-apps-summary'
        : SCHEMA_OF[sub];
  const json = args.some((a, i) => a === '--format=json' || a === '-fjson' || ((a === '--format' || a === '-f') && args[i + 1] === 'json'));
  if (schema === undefined || !json) return;
  const { valid, errors } = checkFleetJson(schema, JSON.parse(stdout));
  assert.ok(valid, `stowage fleet ${sub} --format json does not match ${fleetSchemaPath(schema)}:\n${errors}`);
}

export interface FleetAppsSummary {
  schemaVersion: 1;
  apps: {
    name: string;
    revision: string;
    seq: number;
    revisedAt: string;
    open: Record<string, number>;
    failing: number;
    failsPolicy: boolean;
  }[];
}

export interface FleetApps {
  schemaVersion: 1;
  apps: { name: string; revision: string; seq: number; findings: ReportFinding[] }[];
}
