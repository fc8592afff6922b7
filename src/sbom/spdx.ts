import { createHash } from 'node:crypto';
import { TOOL_NAME, TOOL_VERSION } from '../core/tool.js';
import type { Digest } from '../core/digest.js';
import { licenseIdsOf } from './licenses.js';
import type { InventorySource } from '../core/graph.js';
import { compare, contentUuid, sbomModel, type SbomComponent, type SbomInput, type SbomModel } from './sbom.js';

/**
 * The SBOM as an SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/): the
 * application as the package the document DESCRIBES, a package per locked package, and a
 * DEPENDS_ON relationship per dependency edge. What shipped (a package, an image) is the package
 * described, CONTAINS each application inside it; where a package was learnt from is its
 * `sourceInfo`, and a partial inventory an annotation on what holds it and the document's comment.
 *
 * Licences: `licenseDeclared` is what the package's manifest states; `licenseConcluded` is
 * NOASSERTION, because stowage reads manifests and does not analyse the files (SPDX 2.3
 * section 7.13 asks a concluded licence that differs from the declared one to be explained,
 * and one that was not concluded to be NOASSERTION).
 */

export interface SpdxAnnotation {
  annotationDate: string;
  annotationType: 'OTHER';
  annotator: string;
  comment: string;
}

export interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo?: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: { algorithm: 'SHA1' | 'SHA256' | 'SHA512'; checksumValue: string }[];
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: 'NOASSERTION';
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
  primaryPackagePurpose: 'APPLICATION' | 'LIBRARY' | 'CONTAINER';
  /** Where the package was learnt from, when not a lockfile: `inventory: dep-v0, X-Cargo-Built-Using`. */
  sourceInfo?: string;
  annotations?: SpdxAnnotation[];
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'DEPENDS_ON' | 'CONTAINS';
  relatedSpdxElement: string;
  comment?: string;
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  /** Set when an inventory is partial: what a reader must know before trusting the list. */
  comment?: string;
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string }[];
}

const CHECKSUM_ALGORITHMS: Record<Digest['algorithm'], 'SHA1' | 'SHA256' | 'SHA512'> = { sha1: 'SHA1', sha256: 'SHA256', sha512: 'SHA512' };

export function spdx(input: SbomInput): SpdxDocument {
  const model = sbomModel(input);
  const app = model.application;
  const ids = spdxIds('SPDXRef-Package-', model.components.map((c) => ({ ref: c.ref, label: `${c.ecosystem}-${c.name}-${c.version}` })));
  const fullName = app.version === null ? app.name : `${app.name}-${app.version}`;
  const appId = `SPDXRef-Application-${idString(fullName)}`;
  ids.set(app.ref, appId);
  // Paths that differ only in characters an id cannot hold (`app_one/`, `app-one/`) are two parts: each needs its own id.
  for (const [ref, id] of spdxIds('SPDXRef-Part-', model.parts.map((part) => ({ ref: part.ref, label: part.path })))) ids.set(ref, id);
  const annotate = partialAnnotation(model);

  const appPackage: SpdxPackage = {
    ...applicationPackage(app.name, appId, app.version, app.inventories, annotate(app.ref)),
    licenseDeclared: app.license ?? 'NOASSERTION',
    primaryPackagePurpose: app.shipped === 'image' ? 'CONTAINER' : 'APPLICATION',
  };
  const parts = model.parts.map((part) => applicationPackage(part.name, ids.get(part.ref) as string, part.version, [part.inventory], annotate(part.ref)));
  const packages = [...parts, ...model.components.map((c) => libraryPackage(c, ids.get(c.ref) as string))].sort((a, b) => compare(a.SPDXID, b.SPDXID));
  const partRefs = new Set(model.parts.map((p) => p.ref));

  const dependsOn: SpdxRelationship[] = model.edges.map((edge) => {
    const relationship: SpdxRelationship = {
      spdxElementId: ids.get(edge.from) as string,
      // What shipped holds its applications; they depend on their packages.
      relationshipType: edge.from === app.ref && partRefs.has(edge.to) ? 'CONTAINS' : 'DEPENDS_ON',
      relatedSpdxElement: ids.get(edge.to) as string,
    };
    // SPDX's DEV_DEPENDENCY_OF and the like point the other way; the kind is kept as a comment
    // so that every edge is one DEPENDS_ON.
    if (!edge.kinds.includes('normal') && relationship.relationshipType === 'DEPENDS_ON') relationship.comment = `${edge.kinds.join(', ')} dependency`;
    return relationship;
  });
  dependsOn.sort((a, b) => compare(a.spdxElementId, b.spdxElementId) || compare(a.relatedSpdxElement, b.relatedSpdxElement));

  const name = fullName;
  const body: Omit<SpdxDocument, 'documentNamespace'> = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    creationInfo: { created: model.timestamp, creators: [`Tool: ${TOOL_NAME}-${TOOL_VERSION}`] },
    ...(model.incomplete.length > 0 ? { comment: `${PARTIAL} Incomplete: ${model.incomplete.map((ref) => ids.get(ref)).join(', ')}.` } : {}),
    packages: [appPackage, ...packages],
    relationships: [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: appId }, ...dependsOn],
  };
  const refs = licenseRefs([appPackage, ...packages]);
  if (refs.length > 0) {
    // SPDX requires every LicenseRef- an expression uses to be defined in the document.
    body.hasExtractedLicensingInfos = refs.map((licenseId) => ({
      licenseId,
      extractedText: `${licenseId} is named by a package's manifest; its text is not recorded in this document.`,
    }));
  }
  // The namespace must be unique per document content: derived from the content's hash, in
  // the URI form the SPDX specification's own examples use.
  const documentNamespace = `https://spdx.org/spdxdocs/${idString(name)}-${contentUuid(JSON.stringify(body))}`;
  const { spdxVersion, dataLicense, SPDXID, name: _name, creationInfo, ...rest } = body;
  return { spdxVersion, dataLicense, SPDXID, name, documentNamespace, creationInfo, ...rest };
}

const PARTIAL =
  'PARTIAL INVENTORY: some packages were read from the embedded source paths of Rust binaries without a cargo-auditable .dep-v0 section; ' +
  'the crates such a binary was built from may be more than it names, and its dependency edges are unknown.';

/** The annotation a package whose dependencies are known to be incomplete carries, by ref; none for the others. */
function partialAnnotation(model: SbomModel): (ref: string) => SpdxAnnotation[] {
  const incomplete = new Set(model.incomplete);
  return (ref) => (incomplete.has(ref) ? [{ annotationDate: model.timestamp, annotationType: 'OTHER', annotator: `Tool: ${TOOL_NAME}-${TOOL_VERSION}`, comment: PARTIAL }] : []);
}

function inventoryInfo(inventories: readonly InventorySource[]): { sourceInfo?: string } {
  return inventories.length === 0 ? {} : { sourceInfo: `inventory: ${inventories.join(', ')}` };
}

/** The application, or an application inside what shipped. */
function applicationPackage(name: string, id: string, version: string | null, inventories: readonly InventorySource[], annotations: SpdxAnnotation[]): SpdxPackage {
  return {
    name,
    SPDXID: id,
    ...(version === null ? {} : { versionInfo: version }),
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'APPLICATION',
    ...inventoryInfo(inventories),
    ...(annotations.length > 0 ? { annotations } : {}),
  };
}

function libraryPackage(c: SbomComponent, id: string): SpdxPackage {
  const out: SpdxPackage = {
    name: c.name,
    SPDXID: id,
    versionInfo: c.version,
    downloadLocation: c.downloadUrl ?? 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: c.license ?? 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'LIBRARY',
  };
  if (c.digests.length > 0) out.checksums = c.digests.map((d) => ({ algorithm: CHECKSUM_ALGORITHMS[d.algorithm], checksumValue: d.hex }));
  if (c.purl !== null) out.externalRefs = [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: c.purl }];
  // Fixed key order whatever is present, so that the JSON text is stable.
  const { checksums, externalRefs, primaryPackagePurpose, licenseConcluded, licenseDeclared, copyrightText, ...head } = out;
  return {
    ...head,
    ...(checksums ? { checksums } : {}),
    licenseConcluded,
    licenseDeclared,
    copyrightText,
    ...(externalRefs ? { externalRefs } : {}),
    primaryPackagePurpose,
    ...inventoryInfo(c.inventories),
  };
}

/**
 * PREFIX + label (`SPDXRef-Package-ECOSYSTEM-NAME-VERSION`, `SPDXRef-Part-PATH`), with characters
 * SPDX ids cannot hold (anything but letters, digits, `.` and `-`) turned into `-`. Elements whose
 * labels collide (the same name and version from two sources; paths differing only in `_` and `-`)
 * all get a suffix from their ref's hash, so no id depends on which of them came first.
 */
function spdxIds(prefix: string, components: { ref: string; label: string }[]): Map<string, string> {
  const byId = new Map<string, string[]>();
  for (const c of components) {
    const id = `${prefix}${idString(c.label)}`;
    byId.set(id, [...(byId.get(id) ?? []), c.ref]);
  }
  const ids = new Map<string, string>();
  for (const [id, refs] of byId) {
    for (const ref of refs) {
      ids.set(ref, refs.length === 1 ? id : `${id}-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}`);
    }
  }
  return ids;
}

function idString(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-|-$/g, '') || 'unnamed';
}

function licenseRefs(packages: SpdxPackage[]): string[] {
  const refs = new Set<string>();
  for (const p of packages) {
    if (p.licenseDeclared === 'NOASSERTION') continue;
    for (const id of licenseIdsOf(p.licenseDeclared)) if (id.startsWith('LicenseRef-')) refs.add(id);
  }
  return [...refs].sort(compare);
}
