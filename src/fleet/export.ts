import { notAuditedRefusal } from '../audit/audit.js';
import { StowageError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { DependencyGraph } from '../core/graph.js';
import type { Package } from '../core/package.js';
import { normalizeLicense } from '../sbom/licenses.js';
import { applicationSbomLicense } from '../package/local-licenses.js';
import { loadVersionScheme } from '../ecosystems/formats.js';
import { cycloneDx } from '../sbom/cyclonedx.js';
import type { VexAnalysis } from '../sbom/cyclonedx-vex.js';
import { sbomJson, type SbomInput } from '../sbom/sbom.js';
import { spdx } from '../sbom/spdx.js';
import { currentRevision, requireApp, resolveRevision } from './lookup.js';
import { decodeGraphs } from './revision.js';
import type { FleetStore, RevisionRecord } from './store/store.js';
import { governingDecision, vexAnalysis } from './triage.js';

/**
 * `fleet export APP --format vex|cyclonedx|spdx` (and the server's
 * `GET /api/v1/apps/{name}/export?format=`): a revision's stored graph written by the SBOM
 * writers `stowage sbom` uses. The VEX is the CycloneDX SBOM with the revision's vulnerability
 * findings, each analysed as the triage decision in force says (state, justification, the
 * reason, who and when), or, without one, as `stowage sbom --vex` analyses it.
 *
 * The SBOMs are dated by the revision (an immutable revision exports the same bytes every
 * time); the VEX by `now` (it states the decisions in force now). Licences are those the
 * revision's documents state (kept in its graph: an npm package-lock v2+ `license` per package,
 * a Cargo workspace member's manifest, an SBOM's or a vendor archive's component licences),
 * normalised as SPDX expressions; any other is unknown (NOASSERTION in SPDX, none in CycloneDX).
 */

export const EXPORT_FORMATS = ['vex', 'cyclonedx', 'spdx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  /** A past revision (sha256:HEX, or at least 12 hex digits); default the current one. */
  revision?: string;
  /** The clock: which decisions are in force, and the VEX's timestamp. */
  now: Date;
}

/** The document's text (JSON, two-space indentation, final newline); unknown application or revision: StowageError. */
export async function exportApplication(store: FleetStore, app: string, format: ExportFormat, options: ExportOptions): Promise<string> {
  if (!EXPORT_FORMATS.includes(format)) throw new StowageError(`format ${JSON.stringify(format)}: expected one of ${EXPORT_FORMATS.join(', ')}`);
  const record = await requireApp(store, app);
  const revision = options.revision !== undefined ? await resolveRevision(store, record, options.revision) : await currentRevision(store, record);
  // A VEX states which vulnerabilities affect the application: of a revision not audited it would
  // leave out those of the packages that could not be compared, so it is refused as the audit is.
  if (format === 'vex' && revision.notAudited.length > 0) throw new StowageError(notAuditedRefusal(revision.notAudited));
  const graphs = decodeGraphs(await store.revisionGraph(revision.id));
  const first = graphs[0];
  if (first === undefined) throw new StowageError(`revision ${revision.digest} of ${JSON.stringify(record.name)} holds no dependency graph`);
  const input: SbomInput = {
    application: { name: record.name, version: applicationVersion(record.name, graphs, revision), license: applicationLicense(record.name, graphs), ecosystem: first.ecosystem },
    graphs,
    licenses: declaredLicenses(graphs),
    sourceDateEpoch: epochSeconds(format === 'vex' ? options.now : new Date(revision.createdAt)),
  };
  if (format === 'spdx') return sbomJson(spdx(input));
  if (format === 'cyclonedx') return sbomJson(cycloneDx(input));
  const findings = await store.findings(revision.id);
  return sbomJson(cycloneDx({ ...input, vulnerabilities: findings, analyses: await statedAnalyses(store, record.id, findings, options.now) }));
}

/** The decisions in force (not expired) for this application's findings, as VEX analyses. */
async function statedAnalyses(store: FleetStore, appId: number, findings: readonly Finding[], now: Date): Promise<Map<Finding, VexAnalysis>> {
  const decisions = await store.triageDecisions([appId]);
  const today = now.toISOString().slice(0, 10);
  const out = new Map<Finding, VexAnalysis>();
  if (decisions.length === 0) return out;
  for (const finding of findings) {
    const applied = governingDecision(decisions, appId, finding, await loadVersionScheme(finding.package.ecosystem), today);
    if (applied?.active) out.set(finding, vexAnalysis(applied.decision));
  }
  return out;
}

/**
 * The version of the application's own package: the root package named as the application (a
 * workspace's main crate), else the one version its root packages agree on, else the
 * revision's number in the fleet.
 */
function applicationVersion(name: string, graphs: readonly DependencyGraph[], revision: RevisionRecord): string {
  const roots = graphs.flatMap((g) => {
    const ids = new Set(g.roots);
    return g.packages.filter((p) => ids.has(p.id) && p.version !== '');
  });
  const named = new Set(roots.filter((p) => p.name === name).map((p) => p.version));
  const versions = named.size > 0 ? named : new Set(roots.map((p) => p.version));
  return versions.size === 1 ? ([...versions][0] as string) : `fleet-revision-${revision.seq}`;
}

const epochSeconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/** A package's stated licence as an SPDX expression; null when it states none or one that is not SPDX (`UNLICENSED`, `SEE LICENSE IN …`). */
const spdxLicenseOf = (pkg: Package): string | null => (pkg.license === undefined ? null : normalizeLicense(pkg.license, pkg.ecosystem));

/** Package id -> the licence its input document states, for every package that states a valid one. */
function declaredLicenses(graphs: readonly DependencyGraph[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const graph of graphs) {
    for (const pkg of graph.packages) {
      const license = spdxLicenseOf(pkg);
      if (license !== null) out.set(pkg.id, license);
    }
  }
  return out;
}

/**
 * The application's licence: its root package named as the application, else the one licence its
 * root packages agree on; null when none is stated or they differ. A workspace's members are
 * folded into the application (no components of their own), so their licences are its too, as
 * `stowage sbom` and the RPM's SBOM say (applicationSbomLicense): an npm workspace `app`
 * (Apache-2.0) with a member under MIT was exported as Apache-2.0 alone.
 */
function applicationLicense(name: string, graphs: readonly DependencyGraph[]): string | null {
  const roots = graphs.flatMap((g) => {
    const ids = new Set(g.roots);
    return g.packages.filter((p) => ids.has(p.id));
  });
  const named = roots.filter((p) => p.name === name);
  const licenses = new Set((named.length > 0 ? named : roots).map(spdxLicenseOf));
  const license = licenses.size === 1 ? ([...licenses][0] ?? null) : null;
  if (named.length === 0) return license; // Every root's licence already, when they agree.
  // What the lockfile states of each other member built in; one that states none is the application's own code.
  const members = roots.flatMap((p) => {
    const stated = p.name === name || p.flags?.dev === true ? null : spdxLicenseOf(p);
    return stated === null ? [] : [{ ecosystem: p.ecosystem, name: p.name, version: p.version, license: stated }];
  });
  return applicationSbomLicense(license, members, graphs);
}
