import { relative, sep } from 'node:path';
import type { Finding } from '../../core/finding.js';
import { TOOL_NAME, TOOL_VERSION } from '../../core/tool.js';
import { jsonForTerminal } from '../../core/terminal-text.js';
import type { AuditResult } from '../audit.js';
import { fixedText, moveText } from './advice.js';

/** SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), as code-scanning tools read it. */
const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

type SarifLevel = 'error' | 'warning' | 'note';

function level(f: Finding): SarifLevel {
  if (f.failsPolicy) return 'error';
  return f.advisory.kind === 'vulnerability' ? 'warning' : 'note';
}

/**
 * GitHub's `security-severity`: the CVSS score, else a score inside the level's CVSS band for
 * the level the policy judged it at, so an unscored vulnerability the policy calls critical is
 * critical on the dashboard too.
 */
function securitySeverity(f: Finding): string | undefined {
  if (f.policyLevel === null) return undefined;
  const score = f.advisory.severity?.score;
  if (score != null) return score.toFixed(1);
  const byLevel = { none: '0.0', low: '3.0', medium: '5.0', high: '7.5', critical: '9.5' } as const;
  return byLevel[f.policyLevel];
}

function artifactUri(path: string, base: string): string {
  const rel = relative(base, path);
  const uri = rel.startsWith('..') ? path : rel;
  return uri.split(sep).map(encodeURIComponent).join('/');
}

export function renderSarif(result: AuditResult, cwd = process.cwd()): string {
  const rules = new Map<string, Record<string, unknown>>();
  for (const f of result.findings) {
    const a = f.advisory;
    if (rules.has(a.id)) continue;
    const severity = securitySeverity(f);
    rules.set(a.id, {
      id: a.id,
      name: a.id.replace(/[^A-Za-z0-9]/g, ''),
      shortDescription: { text: a.title || a.id },
      fullDescription: { text: a.description || a.title || a.id },
      ...(a.url ? { helpUri: a.url } : {}),
      help: { text: `${a.title}\n\nFixed: ${a.patched.join(', ') || 'no fixed release'}${a.url ? `\n${a.url}` : ''}` },
      defaultConfiguration: { level: level(f) },
      properties: {
        tags: ['security', a.kind, ...a.categories],
        ...(severity ? { 'security-severity': severity } : {}),
        aliases: a.aliases,
      },
    });
  }
  const ruleIds = [...rules.keys()];
  const results = result.findings.map((f) => {
    const a = f.advisory;
    const path = f.paths[0]?.join(' → ');
    const text =
      `${f.package.name} ${f.package.version} is affected by ${a.id}` +
      (a.title ? `: ${a.title}` : '') +
      `. Fixed: ${fixedText(f)}.` +
      (moveText(f) !== null ? ` Update: ${moveText(f)}.` : '') +
      (path ? ` Path: ${path}.` : '');
    return {
      ruleId: a.id,
      ruleIndex: ruleIds.indexOf(a.id),
      level: level(f),
      kind: 'fail',
      message: { text },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: artifactUri(f.target, cwd) },
            // The package's entry in the lockfile; line 1 when the reader could not place it.
            region: f.package.location ? { startLine: f.package.location.line, startColumn: f.package.location.column } : { startLine: 1 },
          },
          logicalLocations: [{ name: `${f.package.name}@${f.package.version}`, kind: 'package' }],
        },
      ],
      partialFingerprints: { 'stowage/v1': `${a.id}:${f.package.ecosystem}:${f.package.name}@${f.package.version}` },
      ...(f.ignored
        ? { suppressions: [{ kind: 'external', status: 'accepted', justification: f.ignored.reason }] }
        : {}),
      properties: { aliases: a.aliases, paths: f.paths, devOnly: f.devOnly },
    };
  });
  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: TOOL_NAME, version: TOOL_VERSION, semanticVersion: TOOL_VERSION, rules: [...rules.values()] } },
        results,
        invocations: [{ executionSuccessful: true, toolExecutionNotifications: result.warnings.map((w) => ({ level: 'warning', message: { text: w } })) }],
      },
    ],
  };
  return jsonForTerminal(JSON.stringify(log, null, 2) + '\n');
}
