import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { StowageError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { TOOL_NAME, TOOL_VERSION } from '../core/tool.js';
import type { AuditResult } from '../audit/audit.js';
import { auditApplication, type AuditSettings } from '../audit/run.js';
import { devOnlyOfFailing } from '../audit/report/human.js';
import type { LockfileLocation } from '../inputs/lockfiles.js';
import { compressionForPath, writeArchive } from '../core/archive.js';
import { ContentCache } from './content-cache.js';
import { Downloader, type DownloadProgress } from './download.js';
import { manifestFindings } from './manifest.js';
import { MANIFEST_SCHEMA_VERSION, renderManifest, type VendorManifest } from '../inputs/vendor-manifest.js';
import { MANIFEST_PATH } from '../core/archive.js';
import type { EcosystemVendor } from './vendor-tree.js';
import type { VendoredPackage } from '../inputs/vendor-layout.js';
import type { Ecosystem } from '../core/package.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { vendorSbom } from './vendor-sbom.js';
import type { RegistryAllowance } from '../core/registry-allowance.js';

/** The vendoring gate said no: findings fail the policy. Exit code 1, like a failing audit. */
/** Each ecosystem's vendoring, loaded when an application has a lockfile of it. */
async function loadEcosystemVendor(ecosystem: Ecosystem): Promise<EcosystemVendor> {
  switch (ecosystem) {
    case 'cargo':
      return (await import('../vendoring/cargo.js')).vendorCargo;
    case 'npm':
      return (await import('../vendoring/npm.js')).vendorNpm;
  }
}

/** The refusal's advice when failing findings are reached only through development dependencies. */
function devOnlyAdvice(failing: readonly { devOnly: boolean }[]): string {
  const which = devOnlyOfFailing(failing);
  return which === undefined ? '' : `${which} reached only through development dependencies: --omit dev gates on what ships (the archive still holds them for the build); `;
}

export class VendorRefused extends StowageError {
  constructor(readonly audit: AuditResult) {
    const failing = audit.findings.filter((f) => f.failsPolicy);
    super(
      `refusing to vendor: ${failing.length} ${failing.length === 1 ? 'finding fails' : 'findings fail'} the audit policy ` +
        `(${failing.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`).join(', ')}); ` +
        devOnlyAdvice(failing) +
        'accept each with --ignore ID=REASON or in stowage.toml, or update the lockfile',
    );
  }
}

export interface VendorRequest {
  /** The application directory, or its lockfile. */
  path: string;
  audit: AuditSettings;
  /** `SOURCE_DATE_EPOCH`: the mtime of every entry. */
  sourceDateEpoch: number;
  env: NodeJS.ProcessEnv;
  concurrency?: number;
  onProgress?: (progress: DownloadProgress) => void;
  warn: (message: string) => void;
  /** A campaign's: the only places the downloads and git fetches may reach, redirects included. */
  registries?: RegistryAllowance;
}

export interface VendorBuild {
  projectDir: string;
  files: ArchiveFile[];
  manifest: VendorManifest;
  audit: AuditResult;
  downloads: DownloadProgress;
}

/** A URL stays as it is; a local path becomes its last component (and `#branch`). */
function portableDatabaseName(source: string): string {
  if (/^(?:[a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/i.test(source)) return source;
  const hash = source.lastIndexOf('#');
  const path = hash > 0 ? source.slice(0, hash) : source;
  return basename(path.replace(/[\\/]+$/, '')) + (hash > 0 ? source.slice(hash) : '');
}

export function projectDirOf(path: string): string {
  const full = resolve(path);
  return statSync(full, { throwIfNoEntry: false })?.isDirectory() ? full : dirname(full);
}

function archivePath(projectDir: string, file: string): string {
  return relative(projectDir, resolve(file)).split(sep).join('/');
}

/**
 * Why an archive whose manifest is `manifest` was not made for these lockfiles: each lockfile
 * the application has must be one the manifest records, with the same sha256. Empty when it
 * was. (`vendor verify` goes further and rebuilds the archive; this needs no download.)
 */
export function lockfileMismatches(projectDir: string, locations: readonly LockfileLocation[], manifest: Pick<VendorManifest, 'lockfiles'>): string[] {
  const problems: string[] = [];
  for (const location of locations) {
    const path = archivePath(projectDir, location.path);
    const recorded = manifest.lockfiles.find((l) => l.path === path);
    const actual = createHash('sha256').update(readFileSync(location.path)).digest('hex');
    if (recorded === undefined) problems.push(`${path}: the archive was made without it`);
    else if (recorded.sha256 !== actual) problems.push(`${path}: changed since the archive was made (sha256 ${actual}, archive records ${recorded.sha256})`);
  }
  return problems;
}

/**
 * Everything an archive holds for these lockfiles: each ecosystem's vendored files, in one
 * list. Downloads go through the content cache, so a second run fetches nothing.
 */
export async function vendorGraphs(
  projectDir: string,
  located: { locations: LockfileLocation[]; graphs: DependencyGraph[] },
  request: Pick<VendorRequest, 'env' | 'concurrency' | 'onProgress' | 'warn' | 'registries'> & { cacheRoot: string },
): Promise<{ files: ArchiveFile[]; packages: VendoredPackage[]; lockfiles: VendorManifest['lockfiles']; downloads: DownloadProgress }> {
  const downloader = new Downloader({
    cache: new ContentCache(join(request.cacheRoot, 'content')),
    concurrency: request.concurrency ?? 8,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ...(request.registries ? { registries: request.registries } : {}),
  });
  const files: ArchiveFile[] = [];
  const packages: VendoredPackage[] = [];
  const lockfiles: VendorManifest['lockfiles'] = [];
  // Every caller (vendor, verify, sbom, package) passes what readApplication read: graphs from
  // an SBOM or an archive have no lockfile to fetch by.
  if (located.graphs.length !== located.locations.length) {
    throw new StowageError('vendoring reads lockfiles; an SBOM or a vendor archive describes packages it cannot fetch by checksum', projectDir);
  }
  // An npm, yarn, pnpm or bun workspace member installed with its root's lockfile: the archive's
  // settings (.npmrc, .yarnrc, .yarnrc.yml) extracted in the member are not where the package
  // manager reads them (npm 11 run in a member says "ignoring workspace config" of its .npmrc, and
  // `npm ci --offline` there fails for want of the vendored cache).
  const member = located.locations.find((l) => l.format.ecosystem === 'npm' && l.buildDir !== undefined);
  if (member !== undefined) {
    const manager = member.format.manager;
    throw new StowageError(
      `a member of the ${manager} workspace in ${dirname(member.path)}, which ${manager} installs with ${member.path} and the settings there: vendor ${dirname(member.path)}`,
      projectDir,
    );
  }
  for (const [i, graph] of located.graphs.entries()) {
    const location = located.locations[i] as LockfileLocation;
    if (graph.stale !== undefined) {
      throw new StowageError(`the lockfile is older than its manifest (${graph.stale}): update it before vendoring; an install from it as it is fails`, graph.path);
    }
    lockfiles.push({
      path: archivePath(projectDir, location.path),
      ecosystem: graph.ecosystem,
      format: graph.format,
      sha256: createHash('sha256').update(readFileSync(location.path)).digest('hex'),
    });
    const vendor = await loadEcosystemVendor(graph.ecosystem);
    const result = await vendor(graph, { projectDir, downloader, warn: request.warn, env: request.env, ...(request.registries ? { registries: request.registries } : {}) });
    files.push(...result.files);
    packages.push(...result.packages);
  }
  return { files, packages, lockfiles, downloads: downloader.stats };
}

/**
 * The vendoring gate: the application's lockfiles audited with these settings; throws
 * VendorRefused while findings fail the policy. What an archive's manifest says of its own
 * audit is never taken instead (it is the archive's claim, and may be forged or old).
 */
export async function auditGate(path: string, audit: AuditSettings): Promise<Awaited<ReturnType<typeof auditApplication>>> {
  const audited = await auditApplication({ paths: [path], ...audit });
  if (audited.result.findings.some((f) => f.failsPolicy)) throw new VendorRefused(audited.result);
  return audited;
}

/** Audits (the gate), then vendors. Throws VendorRefused while findings fail the policy. */
export async function buildVendorTree(request: VendorRequest): Promise<VendorBuild> {
  const projectDir = projectDirOf(request.path);
  const audited = await auditGate(request.path, request.audit);
  const vendored = await vendorGraphs(projectDir, audited, { ...request, cacheRoot: request.audit.cacheRoot });
  const manifest: VendorManifest = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    sourceDateEpoch: request.sourceDateEpoch,
    lockfiles: vendored.lockfiles,
    packages: vendored.packages,
    audit: {
      // Only what the inputs determine: no ages or warnings (they change with the clock), and a
      // local database by its name, not the build machine's path; its revision identifies it.
      databases: audited.result.databases.map((d) => ({
        source: portableDatabaseName(d.source),
        revision: d.revision,
        revisionDate: d.revisionDate,
        advisories: d.advisories,
      })),
      findings: manifestFindings(audited.result, projectDir),
    },
  };
  const sbom = await vendorSbom(projectDir, audited.graphs, vendored.files, vendored.packages, request.sourceDateEpoch, request.warn);
  return { projectDir, files: [...vendored.files, sbom], manifest, audit: audited.result, downloads: vendored.downloads };
}

/**
 * The archive's bytes: the vendored files plus the manifest, written reproducibly; `entries`
 * counts the files as `vendor verify` and the archive do (the manifest included).
 */
export async function archiveBytes(files: readonly ArchiveFile[], manifest: VendorManifest, output: string): Promise<{ bytes: Buffer; entries: number }> {
  const all: ArchiveFile[] = [...files, { path: MANIFEST_PATH, mode: 0o644, data: renderManifest(manifest) }];
  return { bytes: await writeArchive(all, { compression: compressionForPath(output), mtime: manifest.sourceDateEpoch }), entries: all.length };
}

export function defaultArchivePath(projectDir: string): string {
  return join(projectDir, 'vendor.tar.zst');
}
