import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT_OK, StowageError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { DependencyGraph } from '../core/graph.js';
import { auditApplication } from '../audit/run.js';
import { readApplication, type ApplicationRead } from '../inputs/application.js';
import type { ShippedArtifact, ShippedKind } from '../inputs/shipped-artifact.js';
import { checkOutputPath, writeFileAtomically } from '../core/atomic-write.js';
import { readArchiveFile, readArchiveFiles } from '../core/archive.js';
import { applicationSourceDateEpoch } from '../core/source-date-epoch.js';
import { parseManifest } from '../inputs/vendor-manifest.js';
import { MANIFEST_PATH } from '../core/archive.js';
import { lockfileMismatches, projectDirOf, vendorGraphs } from '../vendoring/vendor-app.js';
import type { VendoredPackage } from '../inputs/vendor-layout.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { NoApplicationError, hasApplicationManifest, readApplicationManifest, type ApplicationManifest } from '../inputs/application-manifest.js';
import { cycloneDx } from '../sbom/cyclonedx.js';
import { applicationLicense, parseLicenseOverrides } from '../package/rpm-package.js';
import { applicationSbomLicense, localPackageLicenses } from '../package/local-licenses.js';
import { sbomJson, type SbomInput } from '../sbom/sbom.js';
import { spdx } from '../sbom/spdx.js';
import { licenseKey, licenseSources, vendoredLicenses } from '../vendoring/vendored-licenses.js';
import { auditSettings, noteGivenInputs, type AuditFlags } from './audit-options.js';
import { progressReporter } from './progress.js';
import { outputFile, stderrStream, warn, writeStdout } from './output.js';

export interface SbomOptions extends AuditFlags {
  format: 'cyclonedx' | 'spdx';
  output?: string;
  vex?: boolean;
  vendor?: string;
  licenses: boolean;
  license?: string[];
}

const ARTICLE: Readonly<Record<ShippedKind, string>> = {
  'Debian package': 'a Debian package',
  RPM: 'an RPM',
  'source RPM': 'a source RPM',
  image: 'an image',
  'installed tree': 'an installed tree',
  binary: 'a binary',
};

/** What shipped as the application an SBOM describes: its own name and version, no licence known but the one given. */
function shippedManifest(artifact: ShippedArtifact, graphs: readonly DependencyGraph[]): ApplicationManifest {
  return {
    ecosystem: graphs[0]?.ecosystem ?? 'cargo',
    path: artifact.path,
    name: artifact.name,
    version: artifact.version ?? '',
    license: null,
    licenseFile: null,
    description: null,
    homepage: null,
    binaries: [],
    hasTests: false,
  };
}

/** The application named after the lockfile's root, as the vendor archive's SBOM names it, with a warning saying why. */
function lockfileRootManifest(problem: NoApplicationError, graphs: readonly DependencyGraph[]): ApplicationManifest {
  const graph = graphs[0] as DependencyGraph;
  const root = graph.packages.find((p) => p.id === graph.roots[0]);
  warn(`SBOM: ${problem.line}; the application is named after the lockfile's root`);
  return {
    ecosystem: graph.ecosystem,
    path: problem.file ?? '',
    name: root?.name ?? 'application',
    version: root?.version ?? '0.0.0',
    license: null,
    licenseFile: null,
    description: null,
    homepage: null,
    binaries: [],
    hasTests: false,
  };
}

/** What to do when the packages cannot be fetched for their licences. */
const LICENCE_SOURCE_ADVICE = "licences are read from the packages themselves: --no-licenses leaves them out, --vendor ARCHIVE reads them from a vendor archive, offline";

/** Where the packages' licences are read from: a vendor archive, or a vendoring run (cached downloads). */
async function vendoredSources(
  projectDir: string,
  located: Awaited<ReturnType<typeof readApplication>>,
  opts: SbomOptions,
  cacheRoot: string,
): Promise<{ files: ArchiveFile[]; packages: VendoredPackage[] }> {
  if (opts.vendor !== undefined) {
    // Only the files the licences are read from are held: the manifest, then what it names
    // (a crate's Cargo.toml, not its sources), each read inflating the archive again.
    const label = opts.vendor;
    const bytes = readFileSync(label);
    const manifestFile = await readArchiveFile(bytes, label, MANIFEST_PATH, Infinity);
    if (!manifestFile) throw new StowageError(`no ${MANIFEST_PATH}: not a stowage vendor archive`, label);
    const manifest = parseManifest(manifestFile, label);
    // An archive made for another lockfile (an older one, another application's) would give the
    // licences of other packages, or none, in silence: it must be this application's, as
    // `vendor verify` and `package rpm --vendor` require. A shipped artifact has no lockfile.
    const mismatches = lockfileMismatches(projectDir, located.locations, manifest);
    if (mismatches.length > 0) throw new StowageError(`was not made for this application's lockfile (${mismatches.join('; ')}): run \`stowage vendor\` again`, label);
    const { packages } = manifest;
    return { files: await licenseSources(packages, (paths) => readArchiveFiles(bytes, label, paths)), packages };
  }
  const progress = progressReporter('sbom', stderrStream());
  try {
    return await vendorGraphs(projectDir, located, { env: process.env, onProgress: progress.update, warn, cacheRoot });
  } catch (err) {
    // A registry that cannot be reached (a build machine without network) need not stop the SBOM.
    if (!(err instanceof StowageError)) throw err;
    throw new StowageError(`${err.message} (${LICENCE_SOURCE_ADVICE})`, err.file, err.position);
  } finally {
    progress.stop();
  }
}

export async function sbomCommand(path: string | undefined, opts: SbomOptions): Promise<number> {
  const target = path ?? '.';
  const output = outputFile(opts.output);
  noteGivenInputs([target], opts);
  if (output !== undefined) checkOutputPath(resolve(output));
  if (opts.vex && opts.format !== 'cyclonedx') throw new StowageError('--vex needs --format cyclonedx: VEX statements are CycloneDX vulnerabilities');
  const projectDir = projectDirOf(target);
  // A binary (or another shipped artifact) has no manifest beside it: then it names the application itself.
  let manifest: ApplicationManifest | null = null;
  let noApplication: NoApplicationError | null = null;
  try {
    manifest = hasApplicationManifest(projectDir) ? readApplicationManifest(projectDir) : null;
  } catch (err) {
    // A manifest that names no single application (a workspace, a root without a version): the SBOM still describes the lockfile.
    if (!(err instanceof NoApplicationError)) throw err;
    noApplication = err;
  }
  const overrides = parseLicenseOverrides(opts.license ?? []);
  const settings = auditSettings(target, opts);

  let located: ApplicationRead;
  let findings: Finding[] | undefined;
  if (opts.vex) {
    const audited = await auditApplication({ paths: [target], ...settings, partialUse: 'sbom' });
    located = { locations: audited.locations, graphs: audited.graphs, artifacts: audited.artifacts, warnings: [] };
    findings = audited.result.findings;
    for (const w of audited.result.warnings) warn(w);
  } else {
    located = await readApplication([target], { allowUnidentified: false, allowPartial: opts.allowPartial === true, partialUse: 'sbom' });
    // A manifest no lockfile locks: its dependencies are in no graph, so not in the SBOM either.
    for (const w of located.warnings) warn(w);
  }
  const graphs: DependencyGraph[] = located.graphs;
  // What shipped names itself (a package, an image, a tree); a binary, only when no manifest is beside it.
  const artifact = located.artifacts.find((a) => a.kind !== 'binary' || manifest === null);
  const app = artifact
    ? shippedManifest(artifact, graphs)
    : (manifest ?? (noApplication !== null ? lockfileRootManifest(noApplication, graphs) : readApplicationManifest(projectDir)));
  if (artifact && opts.licenses && opts.vendor === undefined) {
    throw new StowageError(
      `the licences of the crates and packages of ${ARTICLE[artifact.kind]} are not fetched (no lockfile checksums to verify them against): pass --no-licenses, or --vendor with the application's vendor archive`,
      target,
    );
  }

  const licenses = new Map<string, string | null>();
  const vendored = opts.licenses || opts.vendor !== undefined ? await vendoredSources(projectDir, located, opts, settings.cacheRoot) : null;
  const known = vendored ? await vendoredLicenses(vendored.files, vendored.packages) : new Map();
  // The application's own workspace members and path packages: not downloaded, their manifests in the project state their licences.
  const local = artifact ? [] : localPackageLicenses(projectDir, app, graphs, (n, v) => overrides.get(`${n}@${v}`) ?? overrides.get(n)).licenses;
  const localByKey = new Map(local.map((l) => [licenseKey(l.ecosystem, l.name, l.version), l.license]));
  for (const graph of graphs) {
    for (const pkg of graph.packages) {
      const given = overrides.get(`${pkg.name}@${pkg.version}`) ?? overrides.get(pkg.name);
      const key = licenseKey(pkg.ecosystem, pkg.name, pkg.version);
      licenses.set(pkg.id, given ?? known.get(key)?.license ?? localByKey.get(key) ?? null);
    }
  }
  const input: SbomInput = {
    application: {
      name: app.name,
      version: artifact && app.version === '' ? null : app.version,
      license: applicationSbomLicense(applicationLicense(app, overrides).license, local, graphs),
      ecosystem: app.ecosystem,
      ...(artifact ? { shipped: artifact.kind } : {}),
    },
    graphs,
    licenses,
    sourceDateEpoch: applicationSourceDateEpoch(projectDir, process.env),
    ...(findings ? { vulnerabilities: findings } : {}),
    ...(artifact ? { artifactPath: artifact.path } : {}),
  };
  const text = sbomJson(opts.format === 'cyclonedx' ? cycloneDx(input) : spdx(input));
  if (output === undefined) writeStdout(text);
  else writeFileAtomically(resolve(output), Buffer.from(text));
  return EXIT_OK;
}
