import { InputError } from '../core/errors.js';
import type { DependencyGraph, Edge } from '../core/graph.js';
import { parseJsonText } from '../core/json-text.js';
import type { Ecosystem, Package, PackageSource } from '../core/package.js';
import { isCratesIoRegistryUrl } from '../ecosystems/cargo/source.js';

/**
 * A CycloneDX JSON SBOM read back into dependency graphs, one per ecosystem it names, so what
 * shipped can be audited again without its source: components are identified by their purl
 * (`pkg:cargo/…`, `pkg:npm/…`; other types are not packages stowage audits), the application
 * is `metadata.component`, edges come from `dependencies`.
 */

const PURL_ECOSYSTEMS: Readonly<Record<string, Ecosystem>> = { cargo: 'cargo', npm: 'npm' };

const DEFAULT_REGISTRY: Readonly<Record<Ecosystem, string>> = {
  cargo: 'https://github.com/rust-lang/crates.io-index',
  npm: 'https://registry.npmjs.org/',
};

interface Purl {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  qualifiers: Map<string, string>;
}

/** `pkg:TYPE/[NAMESPACE/]NAME@VERSION[?QUALIFIERS][#SUBPATH]` (the purl specification), for the types stowage knows. */
export function parsePurl(purl: string): Purl | null {
  const m = /^pkg:([a-zA-Z][a-zA-Z0-9.+-]*)\/([^?#]+?)@([^?#@]+)(?:\?([^#]*))?(?:#.*)?$/.exec(purl);
  if (!m) return null;
  const ecosystem = PURL_ECOSYSTEMS[(m[1] as string).toLowerCase()];
  if (!ecosystem) return null;
  const segments = (m[2] as string).split('/').map(decodeURIComponent);
  const name = segments.join('/');
  const qualifiers = new Map<string, string>();
  for (const pair of (m[4] ?? '').split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0) qualifiers.set(pair.slice(0, eq).toLowerCase(), decodeURIComponent(pair.slice(eq + 1)));
  }
  return { ecosystem, name, version: decodeURIComponent(m[3] as string), qualifiers };
}

function sourceOf(purl: Purl): PackageSource {
  const vcs = purl.qualifiers.get('vcs_url');
  if (vcs !== undefined) {
    const at = vcs.lastIndexOf('@');
    return { kind: 'git', url: (at > 0 ? vcs.slice(0, at) : vcs).replace(/^git\+/, ''), ...(at > 0 ? { rev: vcs.slice(at + 1) } : {}), isDefaultRegistry: false };
  }
  const repository = purl.qualifiers.get('repository_url');
  // crates.io named explicitly, in any spelling Cargo reads as crates.io, is still crates.io.
  if (repository !== undefined) return { kind: 'registry', url: repository, isDefaultRegistry: purl.ecosystem === 'cargo' && isCratesIoRegistryUrl(repository) };
  const download = purl.qualifiers.get('download_url');
  if (download !== undefined) return { kind: 'other', url: download, isDefaultRegistry: false };
  return { kind: 'registry', url: DEFAULT_REGISTRY[purl.ecosystem], isDefaultRegistry: true };
}

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function checksumOf(component: Json, ecosystem: Ecosystem): string | null {
  const hashes = Array.isArray(component.hashes) ? component.hashes.filter(isRecord) : [];
  const find = (alg: string): string | undefined => {
    const h = hashes.find((x) => x.alg === alg && typeof x.content === 'string');
    return h?.content as string | undefined;
  };
  if (ecosystem === 'cargo') return find('SHA-256') ?? null;
  const sri = (alg: string, hex: string | undefined): string | null => (hex ? `${alg}-${Buffer.from(hex, 'hex').toString('base64')}` : null);
  return sri('sha512', find('SHA-512')) ?? sri('sha1', find('SHA-1'));
}

/** True when the text looks like a CycloneDX JSON document (decides how an audited file is read). */
export function isCycloneDxText(text: string): boolean {
  return /^\s*\{[\s\S]{0,400}"bomFormat"\s*:\s*"CycloneDX"/.test(text);
}

export function readCycloneDx(path: string, text: string): DependencyGraph[] {
  const doc = parseJsonText(path, text);
  if (!isRecord(doc) || doc.bomFormat !== 'CycloneDX') throw new InputError(path, 'not a CycloneDX JSON document (no "bomFormat": "CycloneDX")');
  if (doc.components !== undefined && !Array.isArray(doc.components)) throw new InputError(path, '"components" must be an array');
  const format = `CycloneDX ${typeof doc.specVersion === 'string' ? doc.specVersion : '?'} SBOM`;
  const metadata = isRecord(doc.metadata) ? doc.metadata : {};
  const app = isRecord(metadata.component) ? metadata.component : null;
  const appRef = app && typeof app['bom-ref'] === 'string' ? app['bom-ref'] : null;

  const byRef = new Map<string, Package>();
  const graphs = new Map<Ecosystem, DependencyGraph>();
  const graphFor = (ecosystem: Ecosystem): DependencyGraph => {
    let graph = graphs.get(ecosystem);
    if (!graph) {
      graph = { ecosystem, path: path, format, packages: [], edges: [], roots: [] };
      if (appRef && app) {
        graph.packages.push({
          id: appRef,
          ecosystem,
          name: typeof app.name === 'string' ? app.name : 'application',
          version: typeof app.version === 'string' ? app.version : '',
          source: { kind: 'workspace', url: null, isDefaultRegistry: false },
          checksum: null,
        });
        graph.roots.push(appRef);
      }
      graphs.set(ecosystem, graph);
    }
    return graph;
  };

  for (const [i, item] of ((doc.components as unknown[] | undefined) ?? []).entries()) {
    if (!isRecord(item)) throw new InputError(path, `components[${i}] is not an object`);
    if (typeof item.purl !== 'string') continue;
    const purl = parsePurl(item.purl);
    if (!purl) continue;
    const id = typeof item['bom-ref'] === 'string' ? item['bom-ref'] : item.purl;
    if (byRef.has(id)) throw new InputError(path, `components[${i}]: bom-ref ${id} appears twice`);
    const pkg: Package = { id, ecosystem: purl.ecosystem, name: purl.name, version: purl.version, source: sourceOf(purl), checksum: checksumOf(item, purl.ecosystem) };
    if (item.scope === 'excluded') pkg.flags = { dev: true };
    byRef.set(id, pkg);
    graphFor(purl.ecosystem).packages.push(pkg);
  }

  const dependencies = Array.isArray(doc.dependencies) ? doc.dependencies.filter(isRecord) : [];
  for (const dep of dependencies) {
    if (typeof dep.ref !== 'string' || !Array.isArray(dep.dependsOn)) continue;
    const from = byRef.get(dep.ref);
    for (const target of dep.dependsOn) {
      const to = typeof target === 'string' ? byRef.get(target) : undefined;
      if (!to) continue;
      const edge: Edge = { from: dep.ref, to: to.id, kind: to.flags?.dev ? 'dev' : 'normal' };
      if (from) {
        if (from.ecosystem === to.ecosystem) graphFor(to.ecosystem).edges.push(edge);
      } else if (dep.ref === appRef) {
        graphFor(to.ecosystem).edges.push(edge);
      }
    }
  }
  if (graphs.size === 0) throw new InputError(path, 'the SBOM names no Cargo or npm package (no pkg:cargo or pkg:npm purl)');
  return [...graphs.values()];
}
