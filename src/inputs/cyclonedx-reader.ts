import { errorMessage, InputError } from '../core/errors.js';
import * as semver from '../core/semver.js';
import { checkCargoVersion } from '../ecosystems/cargo/version.js';
import type { DependencyGraph, Edge, UnidentifiedComponent } from '../core/graph.js';
import { parseJsonText } from '../core/json-text.js';
import { PATCHES_CRATE_PROPERTY, type Ecosystem, type Package, type PackageSource } from '../core/package.js';
import { cratesIoDownload, isCratesIoRegistryUrl } from '../ecosystems/cargo/source.js';
import { crateNameProblem, lockfileNameKey, npmNameProblem } from '../ecosystems/package-names.js';
import { parsePurl, type ParsedPurl } from '../core/purl.js';
import { localComponentOf } from '../core/purl.js';
import { PUBLIC_REGISTRY } from './inventory.js';
import { TOOL_NAME } from '../core/tool.js';
import { ALLOW_UNIDENTIFIED_FLAG, listed, quoted, refuseUnidentified, sbomGraphs, type SbomApplication } from './sbom-graphs.js';
import { ownValue } from '../core/own-value.js';

export { ALLOW_UNIDENTIFIED_FLAG };

/**
 * A CycloneDX JSON SBOM read back into dependency graphs, one per ecosystem it names, so what
 * shipped can be audited again without its source. Every component is read, at any depth of
 * `components[].components[]` and under `metadata.component` (the application). A component is
 * a package stowage audits when its purl is `pkg:cargo/…` or `pkg:npm/…` and agrees with the
 * component's name, group and version (an npm component may go by an alias: the purl's package
 * is audited); edges come from `dependencies`, which may name services (`services[]`, at any
 * depth) as well as components. The application is a
 * package to audit too when its purl names a registry's (applicationIdentity).
 *
 * Fail closed: a component that may be a package (see NOT_PACKAGE_TYPES) but that stowage
 * cannot identify, and an edge naming a bom-ref no component has, refuse the whole file unless
 * the user allows them; then they are reported, never silently dropped. stowage's own SBOMs
 * name the application's path and workspace packages without a purl, by a ref that says so,
 * and the applications inside a shipped artifact (a package's binaries) by a `stowage:path`
 * property: those are read as roots of their own. A composition whose aggregate is
 * `incomplete` makes the graphs partial (refused unless partial inventories are allowed).
 * Dev-only: scope `excluded` (see writtenByStowage), or npm's development property.
 */

/** The property stowage writes on each application inside a shipped artifact (sbom/cyclonedx.ts). */
const PART_PROPERTY = 'stowage:path';

/**
 * An application inside what the SBOM describes, read as a root of its own: as stowage writes
 * one (no purl, a `stowage:path` property), or a lockfile or binary Trivy read packages from
 * (no purl, no version, its `aquasecurity:trivy:Class` `lang-pkgs`; named by its path,
 * `app/package-lock.json`, it is no package: its packages are components of their own, which
 * it depends on).
 */
function isShippedPart(component: Json): boolean {
  if (component.type !== 'application' || component.purl !== undefined || !Array.isArray(component.properties)) return false;
  if (component.properties.some((p) => isRecord(p) && p.name === PART_PROPERTY)) return true;
  return component.version === undefined && component.properties.some((p) => isRecord(p) && p.name === TRIVY_CLASS_PROPERTY && p.value === 'lang-pkgs');
}

/** The property Trivy writes on what it found packages in: `lang-pkgs` on a lockfile or binary, `os-pkgs` on an operating system. */
const TRIVY_CLASS_PROPERTY = 'aquasecurity:trivy:Class';

/**
 * Whether stowage wrote the document (`metadata.tools`, as CycloneDX 1.5+ or 1.4 lists tools).
 * What scope `excluded` means depends on who wrote it: stowage marks a crate so only when
 * dev-dependencies alone bring it in; cargo-cyclonedx marks every crate that is not a normal
 * dependency so, build-dependencies (which are built, and run, to make what ships) included.
 */
function writtenByStowage(doc: Json): boolean {
  const tools = isRecord(doc.metadata) ? doc.metadata.tools : undefined;
  const list: unknown = isRecord(tools) ? tools.components : tools;
  return Array.isArray(list) && list.some((t) => isRecord(t) && t.name === TOOL_NAME);
}

/**
 * The property npm's own `npm sbom` (npm 10+) and cyclonedx-npm write on a package that only
 * development dependencies bring in (the CycloneDX npm property taxonomy); they leave its scope
 * `required`, so scope alone would keep every dev package in an audit under `--omit dev`.
 */
const NPM_DEVELOPMENT_PROPERTY = 'cdx:npm:package:development';

/** Whether a component carries a property of this name with the value `true`. */
function hasTrueProperty(component: Json, name: string): boolean {
  return Array.isArray(component.properties) && component.properties.some((p) => isRecord(p) && p.name === name && p.value === 'true');
}

/** Whether a composition says some inventory of the document is incomplete. */
function isIncomplete(doc: Json): boolean {
  return Array.isArray(doc.compositions) && doc.compositions.some((c) => isRecord(c) && typeof c.aggregate === 'string' && c.aggregate.startsWith('incomplete'));
}

export interface CycloneDxReadOptions {
  /** Read what can be identified, and list the rest as not audited, instead of refusing. */
  allowUnidentified: boolean;
}


/**
 * CycloneDX component types that are not software packages: passed over unless their purl names
 * a Cargo or npm package. Every other type (library, framework, application, or none, or one
 * this list does not know) is taken as a package, which must then be identified.
 */
const NOT_PACKAGE_TYPES = new Set([
  'file',
  'operating-system',
  'container',
  'platform',
  'device',
  'device-driver',
  'firmware',
  'machine-learning-model',
  'data',
  'cryptographic-asset',
]);


export type Json = Record<string, unknown>;
export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where a component sits in the document, kept as parent links: rendered only for messages. */
interface Location {
  parent: Location | null;
  key: string;
}

function locationText(at: Location): string {
  const keys: string[] = [];
  for (let l: Location | null = at; l; l = l.parent) keys.push(l.key);
  return keys.reverse().join('.');
}

export type PackageIdentity = {
  kind: 'package';
  ecosystem: Ecosystem;
  name: string;
  version: string;
  source: PackageSource;
  /** npm: the name the component goes by when it is an alias of the purl's package (`"b": "npm:a@1"`). */
  alias?: string;
};

export type Identity =
  | PackageIdentity
  /** `conflict`: the component says two things of what it is (its purl's version and its own), either of which may have shipped. */
  | { kind: 'unidentified'; reason: string; conflict?: true }
  | { kind: 'not-a-package' };

interface PurlEcosystem {
  ecosystem: Ecosystem;
  /** The package name the purl names, or why it names none. */
  name(purl: ParsedPurl): { name: string } | { error: string };
  /** The component's own name (with its group) agrees with the purl's: the name to audit (and the alias it goes by), or null. */
  agree(purlName: string, component: Json): { name: string; alias?: string } | null;
  isDefaultRegistry(url: string): boolean;
  /** Why a registry package's version is not one version of this ecosystem (a range, a partial version), or null. */
  versionProblem(version: string): string | null;
}

/** Numbers short enough that node-semver takes them (it refuses those over 2^53 - 1). */
const PLAIN_NPM_VERSION = /^(?:0|[1-9][0-9]{0,14})\.(?:0|[1-9][0-9]{0,14})\.(?:0|[1-9][0-9]{0,14})$/;

export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

const PURL_ECOSYSTEMS: Readonly<Record<string, PurlEcosystem>> = {
  cargo: {
    ecosystem: 'cargo',
    name: (purl) => {
      if (purl.namespace.length > 0) return { error: 'pkg:cargo has no namespace' };
      if (crateNameProblem(purl.name) !== null) return { error: 'not a crate name' };
      return { name: purl.name };
    },
    // crates.io refuses a crate whose name differs from another's only in case or in `-` against
    // `_`, and advisories match crates so (package-names.ts): such spellings name one crate.
    agree: (purlName, component) => {
      if (str(component.group) !== null) return null;
      const name = str(component.name);
      if (name === null) return { name: purlName };
      return lockfileNameKey('cargo', name) === lockfileNameKey('cargo', purlName) ? { name } : null;
    },
    // The purl type's default repository is https://crates.io; Cargo's own index URLs (git or
    // sparse, however Cargo spells them) are crates.io as well.
    isDefaultRegistry: (url) => isCratesIoRegistryUrl(url),
    versionProblem: (version) => {
      try {
        checkCargoVersion(version);
        return null;
      } catch (err) {
        return errorMessage(err).replace(/^invalid version ".*?": /s, '');
      }
    },
  },
  npm: {
    ecosystem: 'npm',
    name: (purl) => {
      if (purl.namespace.length > 1) return { error: 'pkg:npm has at most one namespace, the scope' };
      const scope = purl.namespace[0];
      if (/[\s/\p{Cc}]/u.test(purl.name) || (scope !== undefined && /[\s@/\p{Cc}]/u.test(scope.replace(/^@/, '')))) {
        return { error: 'not an npm package name' };
      }
      return { name: scope === undefined ? purl.name : `@${scope.replace(/^@/, '')}/${purl.name}` };
    },
    // The purl lower-cases npm names, so it cannot tell `JSONStream` (published before npm
    // forbade capitals; the registry and its advisories spell it so) from `jsonstream`, and a
    // component name that differs from it in case only may be either, or a misspelling that
    // names no package at all (`Lodash` beside pkg:npm/lodash would hide every lodash advisory).
    // Then the lower-case spelling is audited: advisories are found under their own spelling
    // and its lower case (package-names.ts), so it meets every advisory either spelling would.
    // Any other name is the alias the package is installed under (`"wrap-ansi-cjs":
    // "npm:wrap-ansi@^7"`, which npm's own `npm sbom` writes as the component's name beside
    // pkg:npm/wrap-ansi@7.0.0) when it is one npm takes for an alias (a package name, as
    // npm-package-arg checks): the purl names what the registry served and advisories name, so
    // that package is audited. A name no alias can have contradicts the purl.
    agree: (purlName, component) => {
      const group = str(component.group);
      const name = str(component.name);
      if (name === null) return group === null ? { name: purlName } : null;
      const full = group === null ? name : `@${group.replace(/^@/, '')}/${name}`;
      if (full === purlName) return { name: full };
      if (full.toLowerCase() === purlName.toLowerCase()) return { name: purlName.toLowerCase() };
      return npmNameProblem(full) === null ? { name: purlName, alias: full } : null;
    },
    isDefaultRegistry: (url) => /^https?:\/\/registry\.npmjs\.org\/?$/i.test(url),
    // As the audit reads a lockfile's versions (npm/version.ts): full semver, never coerced. A
    // plain `MAJOR.MINOR.PATCH` (nearly every component of an SBOM's tens of thousands) is one.
    versionProblem: (version) => (PLAIN_NPM_VERSION.test(version) || semver.parse(version) !== null ? null : 'not a semantic version'),
  },
};

/** The qualifiers as a source: `repository_url` naming the public registry, `vcs_url` (git), another `repository_url`, `download_url`, else the public registry. */
function sourceOf(qualifiers: Map<string, string>, reader: PurlEcosystem): PackageSource {
  // A registry named beside a `vcs_url` (which purl calls an extra URL: tools write a crate's
  // upstream repository there) is where the package came from: a crate crates.io serves is
  // crates.io's, whatever repository it also names.
  const registry = qualifiers.get('repository_url');
  if (registry !== undefined && reader.isDefaultRegistry(registry)) return { kind: 'registry', url: PUBLIC_REGISTRY[reader.ecosystem], isDefaultRegistry: true };
  const vcs = qualifiers.get('vcs_url');
  if (vcs !== undefined) {
    const url = vcs.replace(/^git\+/, '');
    // `git+URL@REVISION`: the revision follows an `@` after the path, not the user's `git@`.
    const at = url.lastIndexOf('@');
    return at > url.lastIndexOf('/') ? { kind: 'git', url: url.slice(0, at), rev: url.slice(at + 1), isDefaultRegistry: false } : { kind: 'git', url, isDefaultRegistry: false };
  }
  const repository = qualifiers.get('repository_url');
  if (repository !== undefined) {
    return reader.isDefaultRegistry(repository)
      ? { kind: 'registry', url: PUBLIC_REGISTRY[reader.ecosystem], isDefaultRegistry: true }
      : { kind: 'registry', url: repository, isDefaultRegistry: false };
  }
  const download = qualifiers.get('download_url');
  if (download !== undefined) return { kind: 'other', url: download, isDefaultRegistry: false };
  return { kind: 'registry', url: PUBLIC_REGISTRY[reader.ecosystem], isDefaultRegistry: true };
}

/** What a component is: a package (with its identity), one that cannot be identified, or no package at all. */
export function identify(component: Json, ref: string | null): Identity {
  const looksLikePackage = !(typeof component.type === 'string' && NOT_PACKAGE_TYPES.has(component.type));
  const version = component.version === undefined ? null : str(component.version);
  // syft and Trivy write `"version": ""` on a file: it names no package, its purl (if any) decides.
  const badVersion: Identity = { kind: 'unidentified', reason: 'version is not a non-empty string' };
  if (component.version !== undefined && version === null && looksLikePackage) return badVersion;

  if (component.purl === undefined) {
    // stowage's own SBOMs name the application's path and workspace packages by such a ref.
    const local = ref === null ? null : localComponentOf(ref);
    const name = str(component.name);
    if (local && name !== null && version !== null) return { kind: 'package', ecosystem: local.ecosystem, name, version, source: { kind: local.kind, url: null, isDefaultRegistry: false } };
    return looksLikePackage ? { kind: 'unidentified', reason: 'no purl' } : { kind: 'not-a-package' };
  }
  if (typeof component.purl !== 'string') return { kind: 'unidentified', reason: 'purl is not a string' };
  const parsed = parsePurl(component.purl);
  if ('error' in parsed) return looksLikePackage ? { kind: 'unidentified', reason: `purl not understood (${parsed.error})` } : { kind: 'not-a-package' };
  const purl = parsed.purl;
  // Own keys only: `pkg:constructor/…` named Object's constructor, an internal error.
  const reader = ownValue(PURL_ECOSYSTEMS, purl.type);
  if (!reader) return looksLikePackage ? { kind: 'unidentified', reason: `pkg:${purl.type} is not an ecosystem stowage audits` } : { kind: 'not-a-package' };
  // Whatever its type, a component whose purl names a crate or an npm package is one: a version
  // that says nothing it can be checked against hides which one.
  if (component.version !== undefined && version === null) return badVersion;

  const named = reader.name(purl);
  if ('error' in named) return { kind: 'unidentified', reason: `purl not understood (${named.error})` };
  const agreed = reader.agree(named.name, component);
  if (agreed === null) return { kind: 'unidentified', reason: `purl names ${named.name}, the component ${[str(component.group), str(component.name)].filter((x) => x !== null).join('/')}` };
  if (purl.version !== null && version !== null && purl.version !== version) {
    return { kind: 'unidentified', reason: `purl version ${purl.version} contradicts version ${version}`, conflict: true };
  }
  const name = agreed.name;
  const locked = purl.version ?? version;
  if (locked === null) return { kind: 'unidentified', reason: 'no version' };
  let source = sourceOf(purl.qualifiers, reader);
  if (reader.ecosystem === 'cargo' && source.kind === 'other') {
    // A crate named by its `download_url` alone: crates.io's download URL is crates.io's crate;
    // a checkout (`file:`) is the project's own source; anything else is a crate from somewhere
    // stowage cannot tell, which no advisory can be weighed against.
    const url = source.url ?? '';
    const served = cratesIoDownload(url);
    if (served !== null) {
      if (lockfileNameKey('cargo', served.name) !== lockfileNameKey('cargo', name) || served.version !== locked) {
        return { kind: 'unidentified', reason: `download_url ${url} serves ${served.name} ${served.version}, not ${name} ${locked}` };
      }
      source = { kind: 'registry', url: PUBLIC_REGISTRY.cargo, isDefaultRegistry: true };
    } else if (/^file:/i.test(url)) {
      source = { kind: 'path', url, isDefaultRegistry: false };
    } else {
      return { kind: 'unidentified', reason: `download_url ${url} is not crates.io's, and a crate from elsewhere cannot be identified` };
    }
  }
  // A range (`^4.17.0`) or a partial version names no one package that shipped: the advisories of
  // a registry package could not be weighed against it. (A git or tarball package's version is
  // the audit's to judge: it reports one it cannot compare as not audited.)
  const problem = source.kind === 'registry' ? reader.versionProblem(locked) : null;
  if (problem !== null) return { kind: 'unidentified', reason: `version ${locked} is not one ${reader.ecosystem} version (${problem})` };
  return { kind: 'package', ecosystem: reader.ecosystem, name, version: locked, source, ...(agreed.alias !== undefined ? { alias: agreed.alias } : {}) };
}

/**
 * What the application (CycloneDX `metadata.component`, the package an SPDX document describes)
 * is when it has a purl. An SBOM of a published crate or npm package describes that package, and
 * what shipped is it: a registry's purl makes it a package to audit, as a binary's root crate
 * from crates.io is. A purl naming a checkout (cargo-cyclonedx's `download_url=file://.`, a
 * `vcs_url`) is the project's own source, not audited, as a lockfile's root is not; so is an
 * application whose purl does not identify a package (`pkg:oci`, no version: a project's
 * unpublished manifest). Null when it is simply the application.
 */
export function applicationIdentity(identity: Identity | null): { package: PackageIdentity | null; conflict: string | null } {
  // Fail closed: an application whose purl contradicts its own version may be either, and one of
  // them a registry's package to audit. It is not identified, as a component saying so is not.
  if (identity?.kind === 'unidentified' && identity.conflict === true) return { package: null, conflict: identity.reason };
  return { package: identity === null ? null : registryPackage(identity), conflict: null };
}

/**
 * The identity when it is a registry's package (see applicationIdentity), else null. The
 * application is installed under no alias: a name other than its purl's is not that package.
 */
export function registryPackage(identity: Identity): PackageIdentity | null {
  return identity.kind === 'package' && identity.source.kind === 'registry' && identity.alias === undefined ? identity : null;
}

/** The application's name and version as the graph's root: the package's when its purl identifies one. */
export function applicationOf(app: Json, identity: PackageIdentity | null, version: unknown = app.version): { name: string; version: string; registry?: { ecosystem: Ecosystem; source: PackageSource } } {
  if (identity !== null) return { name: identity.name, version: identity.version, registry: { ecosystem: identity.ecosystem, source: identity.source } };
  return { name: str(app.name) ?? 'application', version: str(version) ?? '' };
}

export function checksumOf(component: Json, ecosystem: Ecosystem): string | null {
  const hashes = Array.isArray(component.hashes) ? component.hashes.filter(isRecord) : [];
  const find = (alg: string): string | undefined => {
    const h = hashes.find((x) => x.alg === alg && typeof x.content === 'string');
    return h?.content as string | undefined;
  };
  if (ecosystem === 'cargo') return find('SHA-256') ?? null;
  const sri = (alg: string, hex: string | undefined): string | null => (hex ? `${alg}-${Buffer.from(hex, 'hex').toString('base64')}` : null);
  return sri('sha512', find('SHA-512')) ?? sri('sha1', find('SHA-1'));
}


/** Whether a JSON document is a CycloneDX BOM: its `bomFormat`, wherever in the object it is written. */
export const isCycloneDxDocument = (doc: unknown): doc is Json => isRecord(doc) && doc.bomFormat === 'CycloneDX';

/** Every component of the document, depth first in document order, the application first; no recursion, so no depth limit. */
function* walkComponents(path: string, doc: Json): Generator<{ component: Json; at: Location; isApplication: boolean }> {
  const stack: { node: unknown; at: Location; isApplication: boolean }[] = [];
  const pushAll = (list: unknown, at: Location): void => {
    if (list === undefined) return;
    if (!Array.isArray(list)) throw new InputError(path, `${locationText(at)} must be an array`);
    for (let i = list.length - 1; i >= 0; i--) stack.push({ node: list[i], at: { parent: at.parent, key: `${at.key}[${i}]` }, isApplication: false });
  };
  pushAll(doc.components, { parent: null, key: 'components' });
  const metadata = doc.metadata;
  if (metadata !== undefined && !isRecord(metadata)) throw new InputError(path, '"metadata" must be an object');
  if (metadata?.component !== undefined) stack.push({ node: metadata.component, at: { parent: null, key: 'metadata.component' }, isApplication: true });
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    if (!isRecord(entry.node)) throw new InputError(path, `${locationText(entry.at)} is not an object`);
    yield { component: entry.node, at: entry.at, isApplication: entry.isApplication };
    pushAll(entry.node.components, { parent: entry.at, key: 'components' });
  }
}

/**
 * Every service of the document (CycloneDX 1.4+ `services[]`, at any depth of
 * `services[].services[]`) with where it sits; no recursion, so no depth limit. A service is
 * no package, but `dependencies` may name it by its bom-ref.
 */
function* walkServices(path: string, doc: Json): Generator<{ service: Json; at: Location }> {
  const stack: { node: unknown; at: Location }[] = [];
  const pushAll = (list: unknown, at: Location): void => {
    if (list === undefined) return;
    if (!Array.isArray(list)) throw new InputError(path, `${locationText(at)} must be an array`);
    for (let i = list.length - 1; i >= 0; i--) stack.push({ node: list[i], at: { parent: at.parent, key: `${at.key}[${i}]` } });
  };
  pushAll(doc.services, { parent: null, key: 'services' });
  for (let entry = stack.pop(); entry; entry = stack.pop()) {
    if (!isRecord(entry.node)) throw new InputError(path, `${locationText(entry.at)} is not an object`);
    yield { service: entry.node, at: entry.at };
    pushAll(entry.node.services, { parent: entry.at, key: 'services' });
  }
}

/** Records a bom-ref where it is first seen; a second one refuses the document (edges to it would be ambiguous). */
function recordRef(path: string, refs: Map<string, Location>, bomRef: unknown, at: Location): string | undefined {
  if (bomRef === undefined) return undefined;
  if (typeof bomRef !== 'string') throw new InputError(path, `${locationText(at)}: bom-ref is not a string`);
  const first = refs.get(bomRef);
  if (first) throw new InputError(path, `bom-ref ${quoted(bomRef)} appears twice (${locationText(first)} and ${locationText(at)}): edges to it would be ambiguous`);
  refs.set(bomRef, at);
  return bomRef;
}

export function readCycloneDx(path: string, text: string, options: CycloneDxReadOptions = { allowUnidentified: false }): DependencyGraph[] {
  return readCycloneDxDocument(path, parseJsonText(path, text), options);
}

/** A CycloneDX document already parsed (sbom-document.ts parses a file once to tell what it is). */
export function readCycloneDxDocument(path: string, doc: unknown, options: CycloneDxReadOptions = { allowUnidentified: false }): DependencyGraph[] {
  if (!isCycloneDxDocument(doc)) throw new InputError(path, 'not a CycloneDX JSON document (no "bomFormat": "CycloneDX")');
  const format = `CycloneDX ${typeof doc.specVersion === 'string' ? doc.specVersion : '?'} SBOM`;

  let app: Json | null = null;
  let appRef: string | null = null;
  let appIdentity: PackageIdentity | null = null;
  /** Every bom-ref of the document (packages or not): edges may name any of them. */
  const refs = new Map<string, Location>();
  const byRef = new Map<string, Package>();
  const packages: Package[] = [];
  const unidentified: UnidentifiedComponent[] = [];
  /** Applications inside a shipped artifact, by bom-ref. */
  const parts = new Map<string, { name: string; version: string }>();
  /** Crates of scope `excluded` in a document stowage did not write: dev- or build-only, which cannot be told. */
  let excludedCrates = 0;
  const excludedMeansDev = writtenByStowage(doc);

  // Services are no packages (edges to them are no package edges), but their bom-refs are the
  // document's: an edge naming one is not dangling, and one a component has too (or a component's
  // purl standing for it without a bom-ref) is ambiguous.
  for (const { service, at } of walkServices(path, doc)) recordRef(path, refs, service['bom-ref'], at);
  /** Components without a bom-ref, by the purl that stands for each (its package's id). */
  const purlIds = new Map<string, Location>();
  for (const { component, at, isApplication } of walkComponents(path, doc)) {
    const bomRef = recordRef(path, refs, component['bom-ref'], at);
    // A purl standing for an earlier component is its package's id: a later bom-ref that spells
    // it would give two packages one id (paths and fixes mixed up between them).
    const purlAt = bomRef === undefined ? undefined : purlIds.get(bomRef);
    if (purlAt !== undefined) throw new InputError(path, `bom-ref ${quoted(bomRef as string)} of ${locationText(at)} is the purl of ${locationText(purlAt)}, listed without a bom-ref: edges to it would be ambiguous`);
    if (isApplication) {
      app = component;
      appRef = bomRef ?? null;
      const identified = applicationIdentity(component.purl === undefined ? null : identify(component, null));
      appIdentity = identified.package;
      if (identified.conflict !== null) unidentified.push({ ref: bomRef ?? locationText(at), name: str(component.name) ?? '', version: str(component.version) ?? '', reason: identified.conflict });
      continue;
    }
    if (bomRef !== undefined && isShippedPart(component)) {
      parts.set(bomRef, { name: str(component.name) ?? bomRef, version: str(component.version) ?? '' });
      continue;
    }
    const identity = identify(component, bomRef ?? null);
    if (identity.kind === 'not-a-package') continue;
    if (identity.kind === 'unidentified') {
      unidentified.push({
        ref: bomRef ?? locationText(at),
        name: [str(component.group), str(component.name)].filter((x) => x !== null).join('/'),
        version: str(component.version) ?? '',
        reason: identity.reason,
      });
      continue;
    }
    const id = bomRef ?? (component.purl as string | undefined) ?? locationText(at);
    if (bomRef === undefined) {
      // Edges cannot name it; its purl stands for it, once.
      if (byRef.has(id) || refs.has(id)) throw new InputError(path, `${locationText(at)}: purl ${quoted(id)} is listed twice without a bom-ref`);
      purlIds.set(id, at);
    }
    // A [patch] path crate is matched by name and version, as the lockfile's audit matches it.
    const source: PackageSource =
      identity.ecosystem === 'cargo' && identity.source.kind === 'path' && hasTrueProperty(component, PATCHES_CRATE_PROPERTY) ? { ...identity.source, patchesCrate: true } : identity.source;
    const pkg: Package = { id, ecosystem: identity.ecosystem, name: identity.name, version: identity.version, source, checksum: checksumOf(component, identity.ecosystem) };
    const license = declaredLicense(component);
    if (license !== null) pkg.license = license;
    if (identity.alias !== undefined) pkg.alias = identity.alias;
    if (component.scope === 'excluded') {
      if (identity.ecosystem === 'cargo' && !excludedMeansDev) excludedCrates++;
      else pkg.flags = { dev: true };
    } else if (identity.ecosystem === 'npm' && hasTrueProperty(component, NPM_DEVELOPMENT_PROPERTY)) {
      pkg.flags = { dev: true };
    }
    byRef.set(id, pkg);
    packages.push(pkg);
  }

  refuseUnidentified(path, unidentified, options.allowUnidentified);

  const { edges, dangling } = readEdges(path, doc, refs, byRef, new Set([...(appRef === null ? [] : [appRef]), ...parts.keys()]), options);
  const appLicense = isRecord(app) ? declaredLicense(app) : null;
  // Without a bom-ref nothing depends on the application by name; one that is a registry's
  // package is the root all the same, under its purl (or an id no component has: a component's
  // bom-ref may well be the same purl).
  let appId = appRef;
  if (appId === null && appIdentity !== null) {
    let id = str(app?.purl) ?? 'metadata.component';
    for (let n = 2; refs.has(id) || byRef.has(id); n++) id = `metadata.component#${n}`;
    appId = id;
  }
  const application: SbomApplication | null = app && appId !== null ? { id: appId, ...applicationOf(app, appIdentity), ...(appLicense !== null ? { license: appLicense } : {}) } : null;
  const graphs = sbomGraphs(path, format, { application, parts, packages, edges, unidentified, dangling, idWord: 'bom-refs', partial: isIncomplete(doc) }, options);
  // Fail closed: no crate is left out as dev-only when it may be a build-dependency.
  for (const graph of graphs) {
    if (graph.ecosystem === 'cargo' && excludedCrates > 0) {
      graph.scopeUnknown = `${excludedCrates} ${excludedCrates === 1 ? 'crate is' : 'crates are'} of scope "excluded", which cargo-cyclonedx writes for build-dependencies as for dev-dependencies, so none is known to be dev-only`;
    }
  }
  return graphs;
}

/**
 * `dependencies[]` as edges between packages of one ecosystem, or from an application. An edge
 * that names a bom-ref no component has means the document is incomplete: refused, unless
 * unidentified input is allowed (then it is listed). Edges to or from components that are not
 * packages, or not identified, are not package edges.
 */
function readEdges(
  path: string,
  doc: Json,
  refs: ReadonlyMap<string, Location>,
  byRef: ReadonlyMap<string, Package>,
  applications: ReadonlySet<string>,
  options: CycloneDxReadOptions,
): { edges: Edge[]; dangling: string[] } {
  if (doc.dependencies !== undefined && !Array.isArray(doc.dependencies)) throw new InputError(path, '"dependencies" must be an array');
  const edges: Edge[] = [];
  const dangling = new Set<string>();
  for (const [i, dep] of ((doc.dependencies as unknown[] | undefined) ?? []).entries()) {
    if (!isRecord(dep) || typeof dep.ref !== 'string') throw new InputError(path, `dependencies[${i}] is not an object with a "ref"`);
    if (dep.dependsOn !== undefined && !(Array.isArray(dep.dependsOn) && dep.dependsOn.every((t) => typeof t === 'string'))) {
      throw new InputError(path, `dependencies[${i}].dependsOn must be an array of bom-refs`);
    }
    if (!refs.has(dep.ref)) dangling.add(quoted(dep.ref));
    const from = byRef.get(dep.ref);
    for (const target of (dep.dependsOn as string[] | undefined) ?? []) {
      if (!refs.has(target)) {
        dangling.add(quoted(target));
        continue;
      }
      const to = byRef.get(target);
      if (!to || !(applications.has(dep.ref) || from?.ecosystem === to.ecosystem)) continue;
      edges.push({ from: dep.ref, to: to.id, kind: to.flags?.dev ? 'dev' : 'normal' });
    }
  }
  if (dangling.size > 0 && !options.allowUnidentified) {
    throw new InputError(
      path,
      `dependencies name ${dangling.size} bom-${dangling.size === 1 ? 'ref' : 'refs'} no component has, so the graph is incomplete: ${listed([...dangling])}; ` +
        `pass ${ALLOW_UNIDENTIFIED_FLAG} to audit the components it lists`,
    );
  }
  return { edges, dangling: [...dangling] };
}

/**
 * A component's licence when `licenses` states exactly one: an `expression`, or a licence by
 * SPDX `id`. Several entries do not say whether they are alternatives or all apply, and a
 * licence by `name` alone is no SPDX identifier: neither is taken as a licence.
 */
function declaredLicense(component: { licenses?: unknown }): string | null {
  const licenses = component.licenses;
  if (!Array.isArray(licenses) || licenses.length !== 1) return null;
  const [only] = licenses as unknown[];
  if (typeof only !== 'object' || only === null) return null;
  const choice = only as { expression?: unknown; license?: unknown };
  if (typeof choice.expression === 'string') return str(choice.expression);
  const license = choice.license;
  return typeof license === 'object' && license !== null ? str((license as { id?: unknown }).id) : null;
}
