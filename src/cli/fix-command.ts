import { EXIT_FINDINGS, EXIT_OK, StowageError } from '../core/errors.js';
import type { FixPlan } from '../core/fix.js';
import { auditApplication } from '../audit/run.js';
import { applyFixPlans, type LockfileDiff } from '../fixes/apply.js';
import { planGraphFixes } from '../fixes/plan.js';
import { findingsLeft, renderFixHuman, renderFixJson, type FixReport } from '../fixes/report.js';
import { auditSettings, noteGivenInputs, type AuditFlags } from './audit-options.js';
import { warn, writeStdout } from './output.js';

export interface FixOptions extends AuditFlags {
  advisory?: string[];
  apply?: boolean;
  allowOverrides?: boolean;
  format: 'human' | 'json';
}

export async function fixCommand(path: string | undefined, opts: FixOptions): Promise<number> {
  const target = path ?? '.';
  noteGivenInputs([target], opts);
  const settings = auditSettings(target, opts);
  const { locations, graphs, result, known } = await auditApplication({ paths: [target], ...settings });
  if (locations.length === 0) throw new StowageError('fix changes a lockfile: give the application directory or its lockfile, not an SBOM or archive', target);
  const wanted = opts.advisory ?? [];
  const warnings = [...result.warnings];
  for (const id of wanted) {
    if (!result.findings.some((f) => f.advisory.id === id || f.advisory.aliases.includes(id))) warnings.push(`--advisory ${id}: no finding of this advisory`);
  }
  const selected = result.findings.filter(
    (f) => f.ignored === null && (wanted.length === 0 || wanted.some((id) => f.advisory.id === id || f.advisory.aliases.includes(id))),
  );
  const allowOverrides = opts.allowOverrides === true;
  // Lockfile graphs come first, in the order of their locations.
  const lockfiles = locations.map((location, i) => ({ location, graph: graphs[i] as (typeof graphs)[number] }));
  const plans: FixPlan[] = [];
  for (const { graph } of lockfiles) plans.push(...(await planGraphFixes(graph, selected, { allowOverrides, known })));

  let applied: FixReport['applied'] = null;
  if (opts.apply) {
    const diffs: LockfileDiff[] = [];
    for (const { location, graph } of lockfiles) {
      const own = plans.filter((p) => p.target === graph.path);
      if (!own.some((p) => p.change)) continue;
      const files = [location.path, ...(location.manifestPath ? [location.manifestPath] : [])];
      diffs.push(await applyFixPlans(graph, own, { allowOverrides, files }));
    }
    const after = (await auditApplication({ paths: [target], ...settings })).result;
    applied = { diffs, findings: after.findings.length, failing: after.findings.filter((f) => f.failsPolicy).length, left: findingsLeft(after.findings) };
  }

  const report: FixReport = { plans, applied, warnings };
  writeStdout(opts.format === 'json' ? renderFixJson(report) : renderFixHuman(report));
  if (opts.format === 'json') for (const w of warnings) warn(w);
  if (applied) return applied.failing > 0 ? EXIT_FINDINGS : EXIT_OK;
  const failingPackages = new Set(selected.filter((f) => f.failsPolicy).map((f) => `${f.target}\0${f.package.id}`));
  const unfixed = plans.some((p) => p.change === null && failingPackages.has(`${p.target}\0${p.package.id}`));
  return unfixed ? EXIT_FINDINGS : EXIT_OK;
}
