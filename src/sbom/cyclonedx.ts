import { TOOL_NAME, TOOL_VERSION } from '../core/tool.js';
import { PATCHES_CRATE_PROPERTY } from '../core/package.js';
import type { Digest } from '../core/digest.js';
import { cycloneDxVulnerabilities, type CycloneDxVulnerability } from './cyclonedx-vex.js';
import type { InventorySource } from '../core/graph.js';
import { contentUuid, sbomModel, type SbomComponent, type SbomInput, type SbomPart } from './sbom.js';

/**
 * The SBOM as a CycloneDX 1.6 JSON document (https://cyclonedx.org/docs/1.6/json/): the
 * application as `metadata.component`, every other locked package as a `library` component,
 * the lockfile edges as `dependencies`, and with findings, the VEX statements. What shipped (a
 * package, an image) is the `metadata.component`, each application inside it (a binary, a
 * node_modules root) an `application` component it depends on; where each package was learnt
 * from is a `stowage:inventory` property, and a partial inventory an `incomplete` composition.
 */

/** The property naming where a component was learnt from (`dep-v0`, `X-Cargo-Built-Using`...), once per source. */
export const INVENTORY_PROPERTY = 'stowage:inventory';
/** The property naming where an application is inside the artifact (`usr/bin/rg`). */
export const PATH_PROPERTY = 'stowage:path';

export interface CycloneDxProperty {
  name: string;
  value: string;
}

export interface CycloneDxHash {
  alg: 'SHA-1' | 'SHA-256' | 'SHA-512';
  content: string;
}

export interface CycloneDxComponent {
  type: 'application' | 'library' | 'container';
  'bom-ref': string;
  name: string;
  version?: string;
  scope?: 'optional' | 'excluded';
  hashes?: CycloneDxHash[];
  licenses?: [{ expression: string }];
  purl?: string;
  externalReferences?: { type: 'distribution' | 'vcs'; url: string }[];
  properties?: CycloneDxProperty[];
}

/** CycloneDX's statement of how complete an inventory is: here, only which are known not to be. */
export interface CycloneDxComposition {
  aggregate: 'incomplete';
  assemblies: string[];
  dependencies: string[];
}

export interface CycloneDxBom {
  $schema: string;
  bomFormat: 'CycloneDX';
  specVersion: '1.6';
  serialNumber: string;
  version: 1;
  metadata: {
    timestamp: string;
    tools: { components: { type: 'application'; name: string; version: string }[] };
    component: CycloneDxComponent;
  };
  components: CycloneDxComponent[];
  dependencies: { ref: string; dependsOn: string[] }[];
  compositions?: CycloneDxComposition[];
  vulnerabilities?: CycloneDxVulnerability[];
}

const HASH_ALGORITHMS: Record<Digest['algorithm'], CycloneDxHash['alg']> = { sha1: 'SHA-1', sha256: 'SHA-256', sha512: 'SHA-512' };

export function cycloneDx(input: SbomInput): CycloneDxBom {
  const model = sbomModel(input);
  const app = model.application;
  const appComponent: CycloneDxComponent = { type: app.shipped === 'image' ? 'container' : 'application', 'bom-ref': app.ref, name: app.name, ...versionOf(app.version) };
  if (app.license !== null) appComponent.licenses = [{ expression: app.license }];
  if (app.inventories.length > 0) appComponent.properties = inventoryProperties(app.inventories);

  const refs = [app.ref, ...model.parts.map((p) => p.ref), ...model.components.map((c) => c.ref)];
  const dependsOn = new Map<string, string[]>(refs.map((ref) => [ref, []]));
  for (const edge of model.edges) dependsOn.get(edge.from)?.push(edge.to);

  const body: Omit<CycloneDxBom, 'serialNumber'> = {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    metadata: {
      timestamp: model.timestamp,
      tools: { components: [{ type: 'application', name: TOOL_NAME, version: TOOL_VERSION }] },
      component: appComponent,
    },
    components: [...model.parts.map(partComponent), ...model.components.map(libraryComponent)],
    // Every component is listed, those without dependencies with an empty list: CycloneDX reads
    // a missing entry as "unknown", an empty one as "none" (an incomplete composition says which lists are short).
    dependencies: [...dependsOn].map(([ref, refs]) => ({ ref, dependsOn: refs })),
  };
  if (model.incomplete.length > 0) body.compositions = [{ aggregate: 'incomplete', assemblies: model.incomplete, dependencies: model.incomplete }];
  if (input.vulnerabilities !== undefined) body.vulnerabilities = cycloneDxVulnerabilities(input.vulnerabilities, model.findingRefs, input.analyses);
  // The serial number identifies this content: hashed without itself, then put second, where
  // CycloneDX documents usually carry it.
  const serialNumber = `urn:uuid:${contentUuid(JSON.stringify(body))}`;
  const { $schema, bomFormat, specVersion, ...rest } = body;
  return { $schema, bomFormat, specVersion, serialNumber, ...rest };
}

function versionOf(version: string | null): { version?: string } {
  return version === null ? {} : { version };
}

function inventoryProperties(inventories: readonly InventorySource[]): CycloneDxProperty[] {
  return inventories.map((value) => ({ name: INVENTORY_PROPERTY, value }));
}

function partComponent(part: SbomPart): CycloneDxComponent {
  return {
    type: 'application',
    'bom-ref': part.ref,
    name: part.name,
    ...versionOf(part.version),
    properties: [...inventoryProperties([part.inventory]), { name: PATH_PROPERTY, value: part.path }],
  };
}

function libraryComponent(c: SbomComponent): CycloneDxComponent {
  const out: CycloneDxComponent = { type: 'library', 'bom-ref': c.ref, name: c.name, version: c.version };
  // No scope is "required" in CycloneDX; Cargo lockfiles do not say which packages are dev-only.
  if (c.devOnly) out.scope = 'excluded';
  else if (c.optionalOnly) out.scope = 'optional';
  if (c.digests.length > 0) out.hashes = c.digests.map((d) => ({ alg: HASH_ALGORITHMS[d.algorithm], content: d.hex }));
  if (c.license !== null) out.licenses = [{ expression: c.license }];
  if (c.purl !== null) out.purl = c.purl;
  const refs: NonNullable<CycloneDxComponent['externalReferences']> = [];
  if (c.downloadUrl !== null && c.downloadUrl !== c.vcsUrl) refs.push({ type: 'distribution', url: c.downloadUrl });
  if (c.vcsUrl !== null) refs.push({ type: 'vcs', url: c.vcsUrl });
  if (refs.length > 0) out.externalReferences = refs;
  if (c.inventories.length > 0) out.properties = inventoryProperties(c.inventories);
  if (c.patchesCrate === true) out.properties = [...(out.properties ?? []), { name: PATCHES_CRATE_PROPERTY, value: 'true' }];
  return out;
}
