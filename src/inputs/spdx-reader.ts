import { InputError } from '../core/errors.js';
import type { DependencyGraph, Edge, EdgeKind, UnidentifiedComponent } from '../core/graph.js';
import { parseJsonText } from '../core/json-text.js';
import { TOOL_NAME } from '../core/tool.js';
import type { Package } from '../core/package.js';
import { applicationIdentity, applicationOf, checksumOf as componentChecksum, identify, isRecord, str, type CycloneDxReadOptions, type Identity, type Json } from './cyclonedx-reader.js';
import { ALLOW_UNIDENTIFIED_FLAG, listed, quoted, refuseUnidentified, sbomGraphs } from './sbom-graphs.js';
import { ownValue } from '../core/own-value.js';

/**
 * An SPDX 2.x JSON document read back into dependency graphs, as a CycloneDX one is
 * (cyclonedx-reader.ts decides what a purl identifies, sbom-graphs.ts builds the graphs). A
 * package is audited when its `purl` external reference names a Cargo or npm package that
 * agrees with the package's name and `versionInfo`. The package the document DESCRIBES is the
 * application. When it describes several, each without a purl is an application of its own, and
 * so is an APPLICATION package without a purl that one of them CONTAINS (stowage writes a
 * shipped artifact's binaries so). Edges: DEPENDS_ON, and the
 * inverse DEPENDENCY_OF / DEV_DEPENDENCY_OF / OPTIONAL_DEPENDENCY_OF / BUILD_DEPENDENCY_OF,
 * whose kinds make a package the roots reach only through dev (or optional) edges dev-only (as
 * npm's `npm sbom` says of a dev dependency); stowage's own documents keep the kind in a
 * DEPENDS_ON's comment.
 * SPDX has no field saying an inventory is incomplete: stowage's own annotation saying so
 * (spdx.ts) makes the graphs partial.
 */

/** Inverse relationships: `A X_OF B` means B depends on A, with this kind. */
const DEPENDENCY_OF: Readonly<Record<string, EdgeKind>> = {
  DEPENDENCY_OF: 'normal',
  RUNTIME_DEPENDENCY_OF: 'normal',
  DEV_DEPENDENCY_OF: 'dev',
  TEST_DEPENDENCY_OF: 'dev',
  OPTIONAL_DEPENDENCY_OF: 'optional',
  BUILD_DEPENDENCY_OF: 'build',
};

/** Package purposes that are no software package (read only when their purl names one). */
const NOT_PACKAGE_PURPOSES = new Set(['CONTAINER', 'OPERATING_SYSTEM', 'FILE', 'DEVICE', 'FIRMWARE', 'ARCHIVE', 'INSTALL', 'SOURCE', 'OTHER']);

/**
 * The kinds of a DEPENDS_ON that stowage's SPDX writer (sbom/spdx.ts) comments on an edge that
 * is not a normal dependency (`dev dependency`, `dev, optional dependency`): SPDX's inverse
 * relationships would have split each edge in two. Read in stowage's own documents only.
 */
const STOWAGE_EDGE_COMMENT = /^((?:build|dev|optional|peer)(?:, (?:build|dev|optional|peer))*) dependency$/;

/** Whether stowage wrote the document (`creationInfo.creators` names it as the tool). */
function writtenByStowage(doc: Json): boolean {
  const creators = isRecord(doc.creationInfo) ? doc.creationInfo.creators : undefined;
  return Array.isArray(creators) && creators.some((c) => typeof c === 'string' && c.startsWith(`Tool: ${TOOL_NAME}-`));
}

/** What stowage's SPDX writer (sbom/spdx.ts) starts a partial inventory's annotation with. */
const PARTIAL_MARK = 'PARTIAL INVENTORY';

/** Whether a JSON document is an SPDX 2 one (or says it is another SPDX version): its `spdxVersion`, wherever in the object it is written. */
export const isSpdxDocument = (doc: unknown): doc is Json => isRecord(doc) && typeof doc.spdxVersion === 'string';

/** Every purl external reference of a package, in document order. */
function purlsOf(pkg: Json): string[] {
  const refs = Array.isArray(pkg.externalRefs) ? pkg.externalRefs.filter(isRecord) : [];
  return refs.filter((r) => r.referenceType === 'purl' && typeof r.referenceLocator === 'string').map((r) => r.referenceLocator as string);
}

/**
 * A package as its purls identify it. SPDX allows several purl references on one package; each
 * is read as a lone one would be, and they must all name the same package: when they do not,
 * either could be what shipped, and the package is unidentified (reading only the first would
 * let a later `pkg:npm/lodash@4.17.4` pass unchecked).
 */
function identifyPackage(pkg: Json, type: string, purls: readonly string[]): Identity {
  const base = { type, name: pkg.name, ...(pkg.versionInfo !== undefined ? { version: pkg.versionInfo } : {}) };
  const first = identify(purls[0] === undefined ? base : { ...base, purl: purls[0] }, null);
  for (const purl of purls.slice(1)) {
    const other = identify({ ...base, purl }, null);
    if (JSON.stringify(other) === JSON.stringify(first)) continue;
    if (other.kind === 'unidentified') return { kind: 'unidentified', reason: `${other.reason} (${purl})`, ...(other.conflict === true ? { conflict: true } : {}) };
    return { kind: 'unidentified', reason: `its purls name different packages (${purls[0]}, ${purl})`, conflict: true };
  }
  return first;
}

function isPartial(doc: Json, packages: readonly Json[]): boolean {
  const marked = (annotations: unknown): boolean => Array.isArray(annotations) && annotations.some((a) => isRecord(a) && typeof a.comment === 'string' && a.comment.startsWith(PARTIAL_MARK));
  return marked(doc.annotations) || packages.some((p) => marked(p.annotations));
}

export function readSpdx(path: string, text: string, options: CycloneDxReadOptions = { allowUnidentified: false }): DependencyGraph[] {
  return readSpdxDocument(path, parseJsonText(path, text), options);
}

/** An SPDX document already parsed (sbom-document.ts parses a file once to tell what it is). */
export function readSpdxDocument(path: string, doc: unknown, options: CycloneDxReadOptions = { allowUnidentified: false }): DependencyGraph[] {
  if (!isSpdxDocument(doc)) throw new InputError(path, 'not an SPDX JSON document (no "spdxVersion")');
  if (!/^SPDX-2\.\d+$/.test(doc.spdxVersion as string)) {
    throw new InputError(path, `spdxVersion ${quoted(doc.spdxVersion as string)}: stowage reads SPDX 2.x JSON documents only`);
  }
  const format = `${doc.spdxVersion} SBOM`;
  if (!Array.isArray(doc.packages)) throw new InputError(path, '"packages" must be an array');
  if (doc.relationships !== undefined && !Array.isArray(doc.relationships)) throw new InputError(path, '"relationships" must be an array');
  const elements = new Map<string, Json>();
  for (const [i, pkg] of (doc.packages as unknown[]).entries()) {
    if (!isRecord(pkg) || typeof pkg.SPDXID !== 'string') throw new InputError(path, `packages[${i}] is not an object with an "SPDXID"`);
    if (elements.has(pkg.SPDXID)) throw new InputError(path, `SPDXID ${quoted(pkg.SPDXID)} appears twice: relationships to it would be ambiguous`);
    elements.set(pkg.SPDXID, pkg);
  }
  const relationships = ((doc.relationships as unknown[] | undefined) ?? []).map((r, i) => {
    if (!isRecord(r) || typeof r.spdxElementId !== 'string' || typeof r.relatedSpdxElement !== 'string' || typeof r.relationshipType !== 'string') {
      throw new InputError(path, `relationships[${i}] is not an object with spdxElementId, relationshipType and relatedSpdxElement`);
    }
    return { from: r.spdxElementId, type: r.relationshipType, to: r.relatedSpdxElement, comment: typeof r.comment === 'string' ? r.comment : null };
  });
  const ownComments = writtenByStowage(doc);

  const described = new Set([
    ...relationships.filter((r) => r.type === 'DESCRIBES' && r.from === 'SPDXRef-DOCUMENT').map((r) => r.to),
    ...(Array.isArray(doc.documentDescribes) ? doc.documentDescribes.filter((d): d is string => typeof d === 'string') : []),
  ]);
  const contained = new Set(relationships.filter((r) => r.type === 'CONTAINS' && described.has(r.from)).map((r) => r.to));
  const appId = described.size === 1 ? ([...described][0] as string) : null;
  const app = appId === null ? undefined : elements.get(appId);

  const packages: Package[] = [];
  const byId = new Map<string, Package>();
  const parts = new Map<string, { name: string; version: string }>();
  const unidentified: UnidentifiedComponent[] = [];
  for (const [id, pkg] of elements) {
    if (id === appId) continue;
    const purls = purlsOf(pkg);
    // A document may describe several packages (the applications of a repository or an image):
    // each without a purl is an application, a root of its own, as the one described would be.
    const describedApplication = described.size > 1 && described.has(id);
    if (purls.length === 0 && (describedApplication || (contained.has(id) && pkg.primaryPackagePurpose === 'APPLICATION'))) {
      parts.set(id, { name: str(pkg.name) ?? id, version: str(pkg.versionInfo) ?? '' });
      continue;
    }
    const purpose = typeof pkg.primaryPackagePurpose === 'string' && NOT_PACKAGE_PURPOSES.has(pkg.primaryPackagePurpose) ? 'file' : 'library';
    const identity = identifyPackage(pkg, purpose, purls);
    if (identity.kind === 'not-a-package') continue;
    if (identity.kind === 'unidentified') {
      unidentified.push({ ref: id, name: str(pkg.name) ?? '', version: str(pkg.versionInfo) ?? '', reason: identity.reason });
      continue;
    }
    const entry: Package = { id, ecosystem: identity.ecosystem, name: identity.name, version: identity.version, source: identity.source, checksum: checksumOf(pkg, identity.ecosystem) };
    const license = declaredLicense(pkg);
    if (license !== null) entry.license = license;
    if (identity.alias !== undefined) entry.alias = identity.alias;
    byId.set(id, entry);
    packages.push(entry);
  }
  const appPurls = app === undefined ? [] : purlsOf(app);
  const identified = applicationIdentity(app === undefined || appPurls.length === 0 ? null : identifyPackage(app, 'library', appPurls));
  const appIdentity = identified.package;
  if (app !== undefined && appId !== null && identified.conflict !== null) {
    unidentified.push({ ref: appId, name: str(app.name) ?? '', version: str(app.versionInfo) ?? '', reason: identified.conflict });
  }
  refuseUnidentified(path, unidentified, options.allowUnidentified);

  const applications = new Set([...(appId === null ? [] : [appId]), ...parts.keys()]);
  const edges: Edge[] = [];
  const dangling = new Set<string>();
  for (const r of relationships) {
    // Own keys only: `constructor` or `__proto__` is no relationship SPDX has (it was an edge).
    const inverse = ownValue(DEPENDENCY_OF, r.type);
    if (r.type !== 'DEPENDS_ON' && inverse === undefined) continue;
    const [from, to] = inverse === undefined ? [r.from, r.to] : [r.to, r.from];
    for (const id of [from, to]) if (!elements.has(id)) dangling.add(quoted(id));
    const target = byId.get(to);
    if (!target || !(applications.has(from) || byId.get(from)?.ecosystem === target.ecosystem)) continue;
    const commented = ownComments && inverse === undefined && r.comment !== null ? STOWAGE_EDGE_COMMENT.exec(r.comment) : null;
    const kinds: EdgeKind[] = commented?.[1] === undefined ? [inverse ?? 'normal'] : (commented[1].split(', ') as EdgeKind[]);
    for (const kind of kinds) edges.push({ from, to, kind });
  }
  if (dangling.size > 0 && !options.allowUnidentified) {
    throw new InputError(path, `relationships name ${dangling.size} SPDX ${dangling.size === 1 ? 'id' : 'ids'} no package has, so the graph is incomplete: ${listed([...dangling])}; pass ${ALLOW_UNIDENTIFIED_FLAG} to audit the packages it lists`);
  }
  const appLicense = app === undefined ? null : declaredLicense(app);
  const application = app && appId !== null ? { id: appId, ...applicationOf(app, appIdentity, app.versionInfo), ...(appLicense !== null ? { license: appLicense } : {}) } : null;
  return sbomGraphs(path, format, { application, parts, packages, edges, unidentified, dangling: [...dangling], idWord: 'SPDX ids', partial: isPartial(doc, [...elements.values()]), flagsFromEdges: true }, options);
}

/** SPDX checksums read as CycloneDX hashes are (`SHA256` is CycloneDX's `SHA-256`). */
function checksumOf(pkg: Json, ecosystem: Package['ecosystem']): string | null {
  const checksums = Array.isArray(pkg.checksums) ? pkg.checksums.filter(isRecord) : [];
  const hashes = checksums.map((c) => ({ alg: typeof c.algorithm === 'string' ? c.algorithm.replace(/^SHA(\d)/, 'SHA-$1') : null, content: c.checksumValue }));
  return componentChecksum({ hashes }, ecosystem);
}

/** A package's `licenseDeclared`, unless it says it is not known or there is none (NOASSERTION, NONE). */
function declaredLicense(pkg: Json): string | null {
  const declared = isRecord(pkg) ? str(pkg.licenseDeclared) : null;
  return declared === null || declared === 'NOASSERTION' || declared === 'NONE' ? null : declared;
}
