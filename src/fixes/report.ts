import type { AppliedIgnore, Finding } from '../core/finding.js';
import type { BlockingRequirement, FixPlan } from '../core/fix.js';
import { jsonForTerminal } from '../core/terminal-text.js';
import { TOOL_NAME, TOOL_VERSION } from '../core/tool.js';
import type { LockfileDiff } from './apply.js';
import { terminalText as t } from '../core/terminal-text.js';

/** How fix plans read, in the fix command's reports and in the audit report's findings. */

/** An argv as a user would type it: plain words bare, anything else single-quoted. */
export function commandText(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9@%_+=:,./^~-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

/** The `fix` of a finding in the JSON audit report, and of a plan in the fix report. */
export function fixAdviceJson(plan: FixPlan): Record<string, unknown> {
  return {
    name: plan.package.name,
    from: plan.package.version,
    to: plan.change?.to ?? null,
    compatible: plan.change?.compatible ?? false,
    command: plan.change ? commandText(plan.change.command) : null,
    // `manifest`, the first of `manifests`, is what reports wrote before they listed every manifest.
    manifest: plan.change?.manifests[0] ?? null,
    manifests: plan.change?.manifests ?? [],
    caveat: plan.change?.caveat ?? null,
    blockedBy: plan.blockedBy,
    reason: plan.reason,
  };
}

/** One link of a blocking chain in words; `first`: the link nearest the vulnerable package. */
export function blockerText(b: BlockingRequirement, first: boolean): string {
  const who = b.manifest !== null ? `${t(b.dependent)} (${t(b.manifest)})` : `${t(b.dependent)} ${t(b.version)}`;
  const usable = first ? `the first fixed version is ${t(b.firstUsable)}` : `the first that would do is ${t(b.firstUsable)}`;
  const unblock =
    b.manifest !== null
      ? `: change the requirement there`
      : b.unblockedBy !== null
        ? `; ${t(b.dependent)} ${t(b.unblockedBy)} accepts it`
        : `; no published version of ${t(b.dependent)} accepts it`;
  return `${who} requires ${t(b.dependency)} ${t(b.requirement)}, ${usable}${unblock}`;
}

/** The lines of a plan's advice, each to be indented by the caller: `fix: upgrade regex 1.5.4 → 1.5.6 (compatible)`. */
export function fixAdviceLines(plan: FixPlan): string[] {
  const { change } = plan;
  if (change) {
    const kind = change.compatible ? 'compatible' : 'not semver-compatible: a major upgrade';
    const lines = [`fix: upgrade ${t(change.name)} ${t(change.from)} → ${t(change.to)} (${kind})`, `     ${t(commandText(change.command))}`];
    for (const m of change.manifests) {
      const entry = `${t(m.field)} ${JSON.stringify(t(m.key))}`;
      lines.push(m.from === null ? `     ${t(m.file)}: adds ${entry}: ${JSON.stringify(t(m.to))}` : `     ${t(m.file)}: ${entry} ${JSON.stringify(t(m.from))} → ${JSON.stringify(t(m.to))}`);
    }
    if (change.caveat !== null) lines.push(`     note: ${t(change.caveat)}`);
    return lines;
  }
  const lines = [`fix: none: ${t(plan.reason ?? 'no fixed version')}`];
  for (const b of plan.blockedBy) lines.push(`     ${blockerText(b, b.dependency === plan.package.name)}`);
  return lines;
}

/** A finding of the audit after the change. */
export interface FindingLeft {
  target: string;
  package: { ecosystem: string; name: string; version: string };
  advisory: string;
  failsPolicy: boolean;
  /** The accepted risk that applies to it (policy or --ignore), as the audit report gives it. */
  ignored: AppliedIgnore | null;
}

/** The findings of the audit after the change, as the fix report lists them. */
export function findingsLeft(findings: readonly Finding[]): FindingLeft[] {
  return findings.map((f) => ({
    target: f.target,
    package: { ecosystem: f.package.ecosystem, name: f.package.name, version: f.package.version },
    advisory: f.advisory.id,
    failsPolicy: f.failsPolicy,
    ignored: f.ignored,
  }));
}

/** What `stowage fix` found and did: the plans, and with --apply the lockfile diffs and the audit after. */
export interface FixReport {
  plans: FixPlan[];
  /** Set with --apply: `findings` and `failing` count `left`, the audit's findings after the change. */
  applied: { diffs: LockfileDiff[]; findings: number; failing: number; left: FindingLeft[] } | null;
  warnings: string[];
}

/** Bumped on any incompatible change to the JSON fix report (schema/fix-report.v1.json). */
const FIX_REPORT_SCHEMA_VERSION = 1;

export function renderFixJson(report: FixReport): string {
  const doc = {
    schemaVersion: FIX_REPORT_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    plans: report.plans.map((p) => ({
      target: p.target,
      package: { ecosystem: p.package.ecosystem, name: p.package.name, version: p.package.version },
      advisories: p.advisories,
      fix: fixAdviceJson(p),
    })),
    applied: report.applied,
    warnings: report.warnings,
  };
  return jsonForTerminal(JSON.stringify(doc, null, 2) + '\n');
}

export function renderFixHuman(report: FixReport): string {
  const out: string[] = [];
  if (report.plans.length === 0) out.push('nothing to fix: no finding needs a change');
  for (const p of report.plans) {
    out.push(`${t(p.target)}: ${t(p.package.name)} ${t(p.package.version)} (${p.advisories.map(t).join(', ')})`);
    out.push(...fixAdviceLines(p).map((l) => `  ${l}`));
  }
  if (report.applied) {
    for (const d of report.applied.diffs) out.push('', ...(d.diff === '' ? [`${t(d.lockfile)}: unchanged`] : d.diff.trimEnd().split('\n').map(t)));
    const { findings, failing } = report.applied;
    out.push('', `audit after the change: ${findings} finding${findings === 1 ? '' : 's'}, ${failing} failing the policy`);
    for (const f of report.applied.left) {
      const accepted = f.ignored === null ? '' : `, ignored${f.ignored.expires === null ? '' : ` until ${f.ignored.expires}`}: ${f.ignored.reason} (${f.ignored.origin})`;
      out.push(`  ${t(f.target)}: ${t(f.package.name)} ${t(f.package.version)} (${t(f.advisory)})${f.failsPolicy ? ', fails the policy' : ''}${t(accepted)}`);
    }
  }
  for (const w of report.warnings) out.push(`warning: ${t(w)}`);
  return out.join('\n') + '\n';
}
