import { osvRecordUrl } from '../core/osv-url.js';
import type { Advisory, Severity } from '../core/advisory.js';
import type { Finding } from '../core/finding.js';
import { compare } from './sbom.js';

/**
 * CycloneDX VEX: the audit's vulnerability findings as `vulnerabilities[]` of the SBOM, each
 * with an `analysis` that says only what stowage knows.
 *
 * - An ignored finding is an accepted risk: someone looked at it and decided not to move the
 *   dependency. That is not `not_affected` (which asserts the vulnerable code cannot be
 *   reached, with a justification stowage cannot check) and not `in_triage` (the decision has
 *   been made). It is state `exploitable` ("may be directly or indirectly exploitable") with
 *   response `will_not_fix`, and the ignore's reason, expiry and origin in `analysis.detail`.
 * - Any other finding is `in_triage`: the vulnerable version is locked and nobody has stated
 *   an analysis yet. stowage does not claim it is exploitable, nor that it is not.
 *
 * Informational advisories (unmaintained, unsound, notice) are not vulnerabilities and are
 * left out.
 */

/** CycloneDX 1.5+ `analysis.state`. */
export const ANALYSIS_STATES = ['resolved', 'resolved_with_pedigree', 'exploitable', 'in_triage', 'false_positive', 'not_affected'] as const;
export type AnalysisState = (typeof ANALYSIS_STATES)[number];

/** CycloneDX 1.5+ `analysis.justification`. */
export const JUSTIFICATIONS = [
  'code_not_present',
  'code_not_reachable',
  'requires_configuration',
  'requires_dependency',
  'requires_environment',
  'protected_by_compiler',
  'protected_at_runtime',
  'protected_at_perimeter',
  'protected_by_mitigating_control',
] as const;
export type Justification = (typeof JUSTIFICATIONS)[number];

/**
 * A vulnerability's `analysis`: what stowage derives from a finding (above), or what a person
 * stated about it (a fleet triage decision, given in SbomInput.analyses).
 */
export interface VexAnalysis {
  state: AnalysisState;
  justification?: Justification;
  response?: ['will_not_fix'];
  detail?: string;
  firstIssued?: string;
  lastUpdated?: string;
}

type CycloneDxSeverity = 'critical' | 'high' | 'medium' | 'low' | 'none';
type ScoreMethod = 'CVSSv2' | 'CVSSv3' | 'CVSSv31' | 'CVSSv4';

export interface VulnerabilitySource {
  name: string;
  url: string;
}

export interface CycloneDxVulnerability {
  'bom-ref': string;
  id: string;
  source: VulnerabilitySource;
  references?: { id: string; source: VulnerabilitySource }[];
  ratings?: { source: VulnerabilitySource; score?: number; severity: CycloneDxSeverity; method?: ScoreMethod; vector?: string }[];
  description?: string;
  detail?: string;
  recommendation?: string;
  advisories?: { url: string }[];
  published?: string;
  updated?: string;
  analysis: VexAnalysis;
  affects: { ref: string; versions: [{ version: string; status: 'affected' }] }[];
}

type Analysis = VexAnalysis;

/** `stated`: analyses a person stated, which replace the derived one for their findings. */
export function cycloneDxVulnerabilities(
  findings: readonly Finding[],
  refs: ReadonlyMap<Finding, string>,
  stated: ReadonlyMap<Finding, VexAnalysis> = new Map(),
): CycloneDxVulnerability[] {
  // One entry per advisory and analysis: the same vulnerability in several lockfiles or
  // versions is one entry affecting several components.
  const groups = new Map<string, { advisory: Advisory; analysis: Analysis; affects: Map<string, string> }>();
  for (const finding of findings) {
    if (finding.advisory.kind !== 'vulnerability') continue;
    const ref = refs.get(finding);
    if (ref === undefined) continue;
    const analysis = stated.get(finding) ?? analysisOf(finding);
    const key = JSON.stringify([finding.advisory.id, analysis]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { advisory: finding.advisory, analysis, affects: new Map() }));
    group.affects.set(ref, finding.package.version);
  }
  const out: CycloneDxVulnerability[] = [];
  const seenIds = new Map<string, number>();
  for (const [, { advisory, analysis, affects }] of [...groups].sort(([a], [b]) => compare(a, b))) {
    const n = (seenIds.get(advisory.id) ?? 0) + 1;
    seenIds.set(advisory.id, n);
    out.push(vulnerability(advisory, analysis, affects, n === 1 ? `vulnerability:${advisory.id}` : `vulnerability:${advisory.id}#${n}`));
  }
  return out;
}

function analysisOf(finding: Finding): Analysis {
  const ignore = finding.ignored;
  if (ignore === null) return { state: 'in_triage' };
  const terms = [`ignore rule for ${ignore.id} in ${ignore.origin}`];
  if (ignore.expires !== null) terms.push(`expires ${ignore.expires}`);
  return { state: 'exploitable', response: ['will_not_fix'], detail: `Accepted risk (${terms.join(', ')}): ${ignore.reason}` };
}

function vulnerability(advisory: Advisory, analysis: Analysis, affects: Map<string, string>, bomRef: string): CycloneDxVulnerability {
  const source = sourceOf(advisory.id);
  const out: Omit<CycloneDxVulnerability, 'analysis' | 'affects'> = { 'bom-ref': bomRef, id: advisory.id, source };
  const aliases = [...new Set(advisory.aliases)].filter((a) => a !== advisory.id).sort(compare);
  if (aliases.length > 0) out.references = aliases.map((id) => ({ id, source: sourceOf(id) }));
  if (advisory.severity !== null) out.ratings = [rating(advisory.severity, source)];
  if (advisory.title !== '') out.description = advisory.title;
  if (advisory.description.trim() !== '') out.detail = advisory.description.trim();
  if (advisory.patched.length > 0) out.recommendation = `Upgrade to a patched version: ${advisory.patched.join(' or ')}`;
  const urls = [...new Set([advisory.url, ...advisory.references].filter((u): u is string => u !== null && isWebUrl(u)))];
  if (urls.length > 0) out.advisories = urls.map((url) => ({ url }));
  const published = dateTime(advisory.published);
  if (published !== null) out.published = published;
  const updated = dateTime(advisory.modified);
  if (updated !== null) out.updated = updated;
  return {
    ...out,
    analysis,
    affects: [...affects]
      .sort(([x], [y]) => compare(x, y))
      .map(([ref, version]) => ({ ref, versions: [{ version, status: 'affected' }] })),
  };
}

/** Who publishes an id, and its page there. OSV serves every id the others do not. */
export function sourceOf(id: string): VulnerabilitySource {
  const encoded = encodeURIComponent(id);
  if (id.startsWith('RUSTSEC-')) return { name: 'RustSec', url: `https://rustsec.org/advisories/${encoded}.html` };
  if (id.startsWith('GHSA-')) return { name: 'GitHub Advisory Database', url: `https://github.com/advisories/${encoded}` };
  if (id.startsWith('CVE-')) return { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${encoded}` };
  return { name: 'OSV', url: osvRecordUrl(id) };
}

type Rating = NonNullable<CycloneDxVulnerability['ratings']>[number];

function rating(severity: Severity, source: VulnerabilitySource): Rating {
  return {
    source,
    ...(severity.score === null ? {} : { score: severity.score }),
    severity: severity.level,
    ...(severity.vector === null ? {} : { method: scoreMethod(severity.vector), vector: severity.vector }),
  };
}

function scoreMethod(vector: string): ScoreMethod {
  if (vector.startsWith('CVSS:4.0/')) return 'CVSSv4';
  if (vector.startsWith('CVSS:3.1/')) return 'CVSSv31';
  if (vector.startsWith('CVSS:3.0/')) return 'CVSSv3';
  return 'CVSSv2';
}

/** An advisory date (YYYY-MM-DD or RFC 3339) as an RFC 3339 date-time; null when absent or unreadable. */
function dateTime(value: string | null): string | null {
  if (value === null) return null;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
