import { createHash } from 'node:crypto';
import { TOOL_NAME, TOOL_VERSION } from '../core/tool.js';
import type { Digest } from '../core/digest.js';
import { licenseIdsOf } from './licenses.js';
import { compare, contentUuid, sbomModel, type SbomComponent, type SbomInput } from './sbom.js';

/**
 * The SBOM as an SPDX 2.3 JSON document (https://spdx.github.io/spdx-spec/v2.3/): the
 * application as the package the document DESCRIBES, a package per locked package, and a
 * DEPENDS_ON relationship per dependency edge.
 *
 * Licences: `licenseDeclared` is what the package's manifest states; `licenseConcluded` is
 * NOASSERTION, because stowage reads manifests and does not analyse the files (SPDX 2.3
 * section 7.13 asks a concluded licence that differs from the declared one to be explained,
 * and one that was not concluded to be NOASSERTION).
 */

export interface SpdxPackage {
  name: string;
  SPDXID: string;
  versionInfo: string;
  downloadLocation: string;
  filesAnalyzed: false;
  checksums?: { algorithm: 'SHA1' | 'SHA256' | 'SHA512'; checksumValue: string }[];
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: 'NOASSERTION';
  externalRefs?: { referenceCategory: 'PACKAGE-MANAGER'; referenceType: 'purl'; referenceLocator: string }[];
  primaryPackagePurpose: 'APPLICATION' | 'LIBRARY';
}

export interface SpdxRelationship {
  spdxElementId: string;
  relationshipType: 'DESCRIBES' | 'DEPENDS_ON';
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
  packages: SpdxPackage[];
  relationships: SpdxRelationship[];
  hasExtractedLicensingInfos?: { licenseId: string; extractedText: string }[];
}

const CHECKSUM_ALGORITHMS: Record<Digest['algorithm'], 'SHA1' | 'SHA256' | 'SHA512'> = { sha1: 'SHA1', sha256: 'SHA256', sha512: 'SHA512' };

export function spdx(input: SbomInput): SpdxDocument {
  const model = sbomModel(input);
  const app = model.application;
  const ids = spdxIds(model.components.map((c) => ({ ref: c.ref, label: `${c.ecosystem}-${c.name}-${c.version}` })));
  const appId = `SPDXRef-Application-${idString(`${app.name}-${app.version}`)}`;
  ids.set(app.ref, appId);

  const appPackage: SpdxPackage = {
    name: app.name,
    SPDXID: appId,
    versionInfo: app.version,
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: app.license ?? 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'APPLICATION',
  };
  const packages = model.components
    .map((c) => libraryPackage(c, ids.get(c.ref) as string))
    .sort((a, b) => compare(a.SPDXID, b.SPDXID));

  const dependsOn: SpdxRelationship[] = model.edges.map((edge) => {
    const relationship: SpdxRelationship = {
      spdxElementId: ids.get(edge.from) as string,
      relationshipType: 'DEPENDS_ON',
      relatedSpdxElement: ids.get(edge.to) as string,
    };
    // SPDX's DEV_DEPENDENCY_OF and the like point the other way; the kind is kept as a comment
    // so that every edge is one DEPENDS_ON.
    if (!edge.kinds.includes('normal')) relationship.comment = `${edge.kinds.join(', ')} dependency`;
    return relationship;
  });
  dependsOn.sort((a, b) => compare(a.spdxElementId, b.spdxElementId) || compare(a.relatedSpdxElement, b.relatedSpdxElement));

  const name = `${app.name}-${app.version}`;
  const body: Omit<SpdxDocument, 'documentNamespace'> = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    creationInfo: { created: model.timestamp, creators: [`Tool: ${TOOL_NAME}-${TOOL_VERSION}`] },
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
  };
}

/**
 * `SPDXRef-Package-ECOSYSTEM-NAME-VERSION`, with characters SPDX ids cannot hold (anything but
 * letters, digits, `.` and `-`) turned into `-`. Components whose labels collide (the same
 * name and version from two sources) all get a suffix from their ref's hash, so no id depends
 * on which of them came first.
 */
function spdxIds(components: { ref: string; label: string }[]): Map<string, string> {
  const byId = new Map<string, string[]>();
  for (const c of components) {
    const id = `SPDXRef-Package-${idString(c.label)}`;
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
