import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { compressionOf, unreadCompressionOf, type Compression } from '../../core/decompress.js';
import { InputError } from '../../core/errors.js';
import type { DependencyGraph } from '../../core/graph.js';
import { readUntrustedTree, type ArchiveFile, type TreeLink, type UntrustedTree } from '../../core/untrusted-tar.js';
import { isTreeInventoryFile, treeApplications } from '../installed-tree.js';
import { namedByFile, type ShippedRead } from '../shipped-artifact.js';
import { archiveCaps, keptBytesCap, SHIPPED_LIMITS, type ShippedLimits } from '../shipped-limits.js';

/**
 * An image archive, as `docker save` writes it (`manifest.json`: per image its `Layers`, paths
 * in the archive) or as an OCI image layout in a tar (`oci-layout`, `index.json` -> manifests
 * -> `layers[].digest`, blobs under `blobs/ALG/HEX`, each checked against its digest). Each
 * image's layers are applied in order in memory, whiteouts honoured (`.wh.NAME` deletes NAME
 * from the layers below, `.wh..wh..opq` empties its directory of them), and the result read as
 * an installed tree: one application per Rust binary and per node_modules. Nothing is written
 * to disk. Every tar (the archive, each layer) is read by untrusted-tar.ts: traversal and
 * absolute paths, symbolic links out of the tree, hard links to what the archive does not
 * hold, and layers that expand past the caps (shipped-limits.ts) are refused; only binaries and
 * package.json files are held in memory, the rest counted as it is inflated.
 */

/** The archive itself is read whole (it is in memory already): its layers, manifests and blobs. */
const ARCHIVE_MAX_BYTES = 32 * 1024 * 1024 * 1024;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

export async function readImageArchive(path: string, bytes: Buffer, limits: ShippedLimits = SHIPPED_LIMITS): Promise<ShippedRead> {
  const archive = await readUntrustedTree(bytes, {
    label: path,
    compression: 'none',
    maxBytes: ARCHIVE_MAX_BYTES,
    maxEntries: limits.maxEntries,
    maxKeptFileBytes: ARCHIVE_MAX_BYTES,
    duplicates: 'refuse',
    keep: () => true,
  });
  const blobs = new Map(archive.files.map((f) => [f.path, f.data]));
  const warnings: string[] = [];
  const images = imagesOf(path, archive, blobs, warnings);
  const graphs: DependencyGraph[] = [];
  // Each layer blob is read once, however many images (or one image, several times) name it.
  const layerReads: LayerReads = { reads: new Map(), replacing: new Map(), ids: new Map() };
  // The files every layer keeps are held together: their bytes are capped by the archive's size.
  const kept = { ...keptBytesCap(limits, bytes.length), held: 0 };
  for (const image of images) {
    const label = images.length === 1 ? path : `${path}#${image.name}`;
    const { files, links } = await applyLayers(label, image.layers.map((layer) => ({ name: layer, data: blobAt(path, archive, blobs, layer) })), limits, layerReads, kept);
    // The image's root file system: an absolute link leads from its root, as inside the container.
    const read = treeApplications(files, label, links, true);
    graphs.push(...read.graphs);
    warnings.push(...read.warnings);
  }
  if (graphs.length === 0) throw new InputError(path, 'nothing to audit: no Rust binary and no node_modules in the image');
  return { artifact: imageArtifact(path, images), graphs, warnings };
}

/** One image by its tag (`NAME:TAG`) as the artifact's name and version; several, or none tagged, by the archive's file name. */
function imageArtifact(path: string, images: readonly ImageLayers[]): ShippedRead['artifact'] {
  const tag = images.length === 1 ? images[0]?.tag : undefined;
  const colon = tag === undefined ? -1 : tag.lastIndexOf(':');
  if (tag === undefined || colon <= tag.lastIndexOf('/')) return namedByFile(path, 'image');
  return { path, kind: 'image', name: tag.slice(0, colon), version: tag.slice(colon + 1) };
}

interface ImageLayers {
  name: string;
  /** `docker save`'s first RepoTags entry, or the OCI ref name annotation. */
  tag?: string;
  /** Paths in the archive, lowest layer first. */
  layers: string[];
}

/**
 * The images of the archive: those `manifest.json` lists (docker save) and those `index.json`
 * reaches (an OCI layout). docker save since 25 writes both, naming the same layers; a loader
 * reads one or the other (moby's `docker load` the first, containerd's importer and podman the
 * second), so when both are there every image either names is read, the same layers once.
 */
function imagesOf(path: string, archive: UntrustedTree, blobs: ReadonlyMap<string, Buffer>, warnings: string[]): ImageLayers[] {
  const docker = blobs.get('manifest.json') ? dockerImagesOf(path, blobs.get('manifest.json') as Buffer) : [];
  // Beside a docker manifest, an index may name other platforms' images whose blobs docker save left out: no loader can load those.
  const oci = blobs.has('index.json') && blobs.has('oci-layout') ? ociImagesOf(path, archive, blobs, blobs.get('index.json') as Buffer, docker.length > 0, warnings) : [];
  if (docker.length === 0 && oci.length === 0) throw new InputError(path, 'a tar, but not an image archive: no manifest.json (docker save) and no oci-layout with index.json');
  const seen = new Set<string>();
  const images: ImageLayers[] = [];
  for (const image of [...docker, ...oci]) {
    const key = JSON.stringify(image.layers);
    if (seen.has(key)) continue;
    seen.add(key);
    images.push(image);
  }
  return images;
}

function dockerImagesOf(path: string, docker: Buffer): ImageLayers[] {
  const manifest = parseJson(path, 'manifest.json', docker);
  if (!Array.isArray(manifest) || manifest.length === 0) throw new InputError(`${path}:manifest.json`, 'not a list of images');
  return manifest.map((entry: unknown, i) => {
    const record = entry as { Layers?: unknown; RepoTags?: unknown };
    if (!Array.isArray(record.Layers) || !record.Layers.every((l) => typeof l === 'string')) throw new InputError(`${path}:manifest.json`, `image ${i}: "Layers" is not a list of paths`);
    const tags = Array.isArray(record.RepoTags) ? record.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { name: tags[0] ?? `image ${i}`, ...(tags[0] !== undefined ? { tag: tags[0] } : {}), layers: record.Layers as string[] };
  });
}

/**
 * `skipAbsent`: an image whose manifest or layers the archive does not hold is passed over, not
 * refused. A manifest none of whose layers is a file system layer (an attestation, an artifact)
 * is no image: passed over, and named in `warnings` unless it is marked as buildx's attestation.
 */
function ociImagesOf(path: string, archive: UntrustedTree, blobs: ReadonlyMap<string, Buffer>, index: Buffer, skipAbsent: boolean, warnings: string[]): ImageLayers[] {
  const images: ImageLayers[] = [];
  const holds = (blobPath: string): boolean => blobs.has(blobPath) || archive.symlinks.some((l) => l.path === blobPath);
  // Each index or manifest is read once, however many descriptors name it: a few kilobytes of
  // indexes each naming the next one a hundred times over would otherwise be walked 100^N times
  // (an index names the same manifest twice, as one image; the first name given is its name).
  const visited = new Set<string>();
  // `named`: the ref name of the index that names this descriptor (buildx's tag is on the index of its platforms).
  const visit = (descriptor: unknown, where: string, depth: number, named?: string): void => {
    if (depth > 4) throw new InputError(`${path}:${where}`, 'image indexes nested too deep');
    const d = descriptor as { mediaType?: unknown; digest?: unknown; annotations?: Record<string, unknown> };
    if (typeof d.digest !== 'string') throw new InputError(`${path}:${where}`, 'a descriptor without a digest');
    const blobPath = digestPath(path, where, d.digest);
    if (skipAbsent && !holds(blobPath)) return;
    if (visited.has(blobPath)) return;
    visited.add(blobPath);
    const doc = parseJson(path, blobPath, blobAt(path, archive, blobs, blobPath)) as { manifests?: unknown; layers?: unknown };
    const ownName = d.annotations?.['org.opencontainers.image.ref.name'];
    const refName = typeof ownName === 'string' ? ownName : named;
    if (Array.isArray(doc.manifests)) {
      doc.manifests.forEach((m, i) => visit(m, `${blobPath} manifests[${i}]`, depth + 1, refName));
      return;
    }
    if (!Array.isArray(doc.layers)) throw new InputError(`${path}:${blobPath}`, 'neither an image index nor an image manifest (no "layers")');
    const kinds = doc.layers.map((layer) => layerMediaType((layer as { mediaType?: unknown }).mediaType));
    // An attestation (buildx's provenance and SBOM: `application/vnd.in-toto+json` blobs, platform
    // unknown/unknown) or another artifact: no file system layer, nothing a container runs.
    if (kinds.length > 0 && kinds.every((k) => k.kind === 'other')) {
      if (d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest') {
        const types = [...new Set(kinds.map((k) => (k as { mediaType: string }).mediaType))].join(', ');
        warnings.push(`${path}:${blobPath}: a manifest without file system layers (${types}), not an image: not audited`);
      }
      return;
    }
    const other = kinds.findIndex((k) => k.kind !== 'layer');
    if (other >= 0) {
      const k = kinds[other] as { kind: 'other' | 'unread'; mediaType: string };
      throw new InputError(
        `${path}:${blobPath}`,
        k.kind === 'unread'
          ? `layers[${other}] is an ${JSON.stringify(k.mediaType)} layer, which stowage does not read (it reads tar, gzip, zstd and xz layers)`
          : `layers[${other}] has media type ${JSON.stringify(k.mediaType)}, not an image layer's, beside file system layers: what a runtime unpacks cannot be told`,
      );
    }
    const layers = doc.layers.map((layer, i) => {
      const digest = (layer as { digest?: unknown }).digest;
      if (typeof digest !== 'string') throw new InputError(`${path}:${blobPath}`, `layers[${i}] has no digest`);
      return digestPath(path, blobPath, digest);
    });
    if (skipAbsent && !layers.every(holds)) return;
    // Named by its own ref name, else by its digest (an index's platforms share the index's tag).
    images.push({ name: typeof ownName === 'string' ? ownName : d.digest, ...(refName !== undefined ? { tag: refName } : {}), layers });
  };
  const top = parseJson(path, 'index.json', index) as { manifests?: unknown };
  if (!Array.isArray(top.manifests)) throw new InputError(`${path}:index.json`, 'no "manifests" list');
  top.manifests.forEach((m, i) => visit(m, `index.json manifests[${i}]`, 0));
  return images;
}

/**
 * A file system layer's media types (OCI's and Docker's, non-distributable and foreign ones
 * included), compressed as stowage reads them (the compression itself is told by the magic bytes).
 */
const LAYER_MEDIA_TYPE = /^application\/vnd\.(?:oci\.image\.layer\.(?:nondistributable\.)?v1\.tar(?:\+gzip|\+zstd)?|docker\.image\.rootfs\.(?:foreign\.)?diff\.tar(?:\.gzip|\.zstd)?)$/;

/**
 * What a manifest's `layers[]` entry is by its media type: a file system layer (or no media type,
 * as old writers leave it), one in a form stowage cannot read (encrypted), or something else (an
 * attestation's in-toto statement, an artifact's blob), which no runtime unpacks as files.
 */
function layerMediaType(mediaType: unknown): { kind: 'layer' } | { kind: 'unread' | 'other'; mediaType: string } {
  if (mediaType === undefined || (typeof mediaType === 'string' && LAYER_MEDIA_TYPE.test(mediaType))) return { kind: 'layer' };
  const named = typeof mediaType === 'string' ? mediaType : JSON.stringify(mediaType);
  if (typeof mediaType === 'string' && /^application\/vnd\.(?:oci\.image\.layer|docker\.image\.rootfs)\./.test(mediaType)) return { kind: 'unread', mediaType: named };
  return { kind: 'other', mediaType: named };
}

/** `sha256:HEX` -> `blobs/sha256/HEX`, refusing anything that is not a digest (no path can hide in one). */
function digestPath(path: string, where: string, digest: string): string {
  const match = /^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})$/.exec(digest);
  if (!match) throw new InputError(`${path}:${where}`, `${JSON.stringify(digest)} is not a sha256 or sha512 digest`);
  return `blobs/${match[1]}/${match[2]}`;
}

/** A blob by its path in the archive, a symbolic link inside the archive followed once (docker save links shared layers); a digest path is checked against its bytes. */
function blobAt(path: string, archive: UntrustedTree, blobs: ReadonlyMap<string, Buffer>, name: string): Buffer {
  let data = blobs.get(name);
  if (data === undefined) {
    const link = archive.symlinks.find((l) => l.path === name);
    if (link) data = blobs.get(posix.normalize(link.target.startsWith('/') ? link.target.slice(1) : posix.join(posix.dirname(name), link.target)));
  }
  if (data === undefined) throw new InputError(path, `${JSON.stringify(name)} is named by the image but not in the archive`);
  const digest = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(name);
  if (digest && createHash(digest[1] as string).update(data).digest('hex') !== digest[2]) {
    throw new InputError(path, `${name}: its bytes do not match its digest`);
  }
  return data;
}

function parseJson(path: string, name: string, data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new InputError(`${path}:${name}`, `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * An image's root file system as its layers build it up: the files kept, and, for each directory,
 * the files below it, so that a whiteout, an opaque directory or an entry replacing a directory
 * removes what is below it without a look at every other file (a layer of a quarter of a million
 * package.json files was a quarter of a million passes over all of them).
 */
class LayeredTree {
  /** The kept files, and the symbolic links (whose `target` tells them apart), by path. */
  private readonly files = new Map<string, ArchiveFile | TreeLink>();
  private readonly below = new Map<string, Set<string>>();

  /** Whether `path` is a kept file or link, or a directory with kept files below it. */
  holds(path: string): boolean {
    return this.files.has(path) || (this.below.get(path)?.size ?? 0) > 0;
  }

  set(file: ArchiveFile | TreeLink): void {
    if (!this.files.has(file.path)) for (const dir of parentsOf(file.path)) this.belowOf(dir).add(file.path);
    this.files.set(file.path, file);
  }

  /** Removes `dir`'s files (the whole tree for ''), and `dir` itself when it is a file and `includeSelf`. */
  removeUnder(dir: string, includeSelf: boolean): void {
    if (includeSelf) this.remove(dir);
    for (const path of [...(this.below.get(dir) ?? [])]) this.remove(path);
  }

  /** Removes the file or link at `path` itself, if any (a directory there keeps what is below it). */
  removeFile(path: string): void {
    this.remove(path);
  }

  values(): { files: ArchiveFile[]; links: TreeLink[] } {
    const files: ArchiveFile[] = [];
    const links: TreeLink[] = [];
    for (const entry of this.files.values()) {
      if ('target' in entry) links.push(entry);
      else files.push(entry);
    }
    return { files, links };
  }

  private remove(path: string): void {
    if (!this.files.delete(path)) return;
    for (const dir of parentsOf(path)) this.below.get(dir)?.delete(path);
  }

  private belowOf(dir: string): Set<string> {
    let set = this.below.get(dir);
    if (!set) this.below.set(dir, (set = new Set()));
    return set;
  }
}

/** '' (the root), then each directory above `path`: `a/b/c` -> '', 'a', 'a/b'. */
function parentsOf(path: string): string[] {
  const parents = [''];
  for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) parents.push(path.slice(0, slash));
  return parents;
}

/**
 * A layer as read: its kept files, links and whiteouts, and the entries it replaces lower
 * layers' files with that are not kept (a script over a binary, a file over a package's
 * directory, a directory over a binary, a hard link to a script over a binary): each hides
 * what was there, as a whiteout would. Which entries those are depends on the layers below
 * (`below`, the stack it was read over): only the paths they fill are looked for.
 */
interface LayerRead extends UntrustedTree {
  replacing: Replacing;
  below: string;
}

type Replacing = { kind: 'file' | 'directory'; path: string }[];

/**
 * The layers read so far, by blob (read once), and the entries a layer replaces over each other
 * stack of layers it is applied on (a layer two images share on different layers below: the
 * same `COPY`, say), read again for those entries alone.
 */
interface LayerReads {
  reads: Map<Buffer, Promise<LayerRead>>;
  replacing: Map<string, Promise<Replacing>>;
  /** A number for each blob, to name a stack of layers by. */
  ids: Map<Buffer, number>;
}

function layerId(reads: LayerReads, data: Buffer): number {
  let id = reads.ids.get(data);
  if (id === undefined) reads.ids.set(data, (id = reads.ids.size));
  return id;
}

/** The layers applied in order: the files the tree keeps, as the image's root file system holds them. */
async function applyLayers(
  label: string,
  layers: readonly { name: string; data: Buffer }[],
  limits: ShippedLimits,
  reads: LayerReads,
  kept: { maxKeptBytes: number; maxKeptBytesReason: string; held: number },
): Promise<{ files: ArchiveFile[]; links: TreeLink[] }> {
  const tree = new LayeredTree();
  let below = '';
  for (const layer of layers) {
    const reading = layerReading(label, layer, below, tree, limits, reads, kept);
    const first = await reading;
    // Read over other layers below (another image's): what it replaces of these is looked for again.
    const read = first.below === below ? first : { ...first, replacing: await replacingOver(label, layer, below, tree, limits, reads) };
    below = `${below}/${layerId(reads, layer.data)}`;
    // Whiteouts first: they hide what the layers below hold, never what this layer adds.
    for (const file of read.files) {
      const base = posix.basename(file.path);
      const dir = posix.dirname(file.path) === '.' ? '' : posix.dirname(file.path);
      if (base === OPAQUE) tree.removeUnder(dir, false);
      else if (base.startsWith(WHITEOUT)) {
        const hidden = base.slice(WHITEOUT.length);
        // `.wh.`, `.wh..`, `.wh...` name the directory itself or its parent: read here as deleting
        // everything below, by docker as removing its own layer's directory (or failing).
        if (hidden === '' || hidden === '.' || hidden === '..') {
          throw new InputError(`${label}:${layer.name}`, `whiteout ${JSON.stringify(file.path)} names no file: runtimes disagree on what it removes, so what the image holds cannot be told`);
        }
        tree.removeUnder(dir === '' ? hidden : `${dir}/${hidden}`, true);
      }
    }
    // A file replaces whatever was at its path, a directory's whole content included; a
    // directory replaces a file or link there, and merges with a directory.
    for (const entry of read.replacing) {
      if (entry.kind === 'file') tree.removeUnder(entry.path, true);
      else tree.removeFile(entry.path);
    }
    for (const link of read.symlinks) {
      tree.removeUnder(link.path, true);
      tree.set(link);
    }
    for (const file of read.files) {
      if (posix.basename(file.path).startsWith(WHITEOUT)) continue;
      tree.removeUnder(file.path, false);
      tree.set(file);
    }
  }
  return tree.values();
}

const layerLabel = (label: string, layer: { name: string }): string => `${label}:${layer.name}`;

/**
 * A layer's compression, by its magic bytes: gzip and zstd (OCI's media types), xz (docker load
 * reads it, and bzip2, in a `docker save` archive), else a plain tar.
 */
function layerCompression(label: string, layer: { name: string; data: Buffer }): Compression {
  const unread = unreadCompressionOf(layer.data);
  if (unread !== null) throw new InputError(layerLabel(label, layer), `a ${unread}-compressed layer, which stowage does not read (it reads tar, gzip, zstd and xz layers)`);
  return compressionOf(layer.data) ?? 'none';
}

/** The layer's read (its first, over the layers below it in the first image that names it). */
function layerReading(
  label: string,
  layer: { name: string; data: Buffer },
  below: string,
  tree: LayeredTree,
  limits: ShippedLimits,
  reads: LayerReads,
  kept: { maxKeptBytes: number; maxKeptBytesReason: string; held: number },
): Promise<LayerRead> {
  const known = reads.reads.get(layer.data);
  if (known !== undefined) return known;
  // Only the entries at a path the layers below fill are held: a layer of a million files
  // replaces few of the handful kept.
  const replacing: Replacing = [];
  const reading = readUntrustedTree(layer.data, {
    label: layerLabel(label, layer),
    compression: layerCompression(label, layer),
    ...limits,
    ...archiveCaps(limits, layer.data.length),
    duplicates: 'replace',
    keep: (path, head) => posix.basename(path).startsWith(WHITEOUT) || isTreeInventoryFile(path, head),
    maxKeptBytes: kept.maxKeptBytes - kept.held,
    maxKeptBytesReason: kept.maxKeptBytesReason,
    onEntry: (entry) => {
      if (tree.holds(entry.path)) replacing.push(entry);
    },
  }).then((read) => {
    for (const data of new Set(read.files.map((f) => f.data))) kept.held += data.length;
    return { ...read, replacing, below };
  });
  reads.reads.set(layer.data, reading);
  return reading;
}

/** The entries of a layer at the paths `tree` (the layers `below`) fills, read again, nothing kept: once per layer and stack. */
function replacingOver(label: string, layer: { name: string; data: Buffer }, below: string, tree: LayeredTree, limits: ShippedLimits, reads: LayerReads): Promise<Replacing> {
  const key = `${layerId(reads, layer.data)} over ${below}`;
  let reading = reads.replacing.get(key);
  if (reading === undefined) {
    const replacing: Replacing = [];
    reading = readUntrustedTree(layer.data, {
      label: layerLabel(label, layer),
      compression: layerCompression(label, layer),
      ...limits,
      ...archiveCaps(limits, layer.data.length),
      duplicates: 'replace',
      keep: () => false,
      onEntry: (entry) => {
        if (tree.holds(entry.path)) replacing.push(entry);
      },
    }).then(() => replacing);
    reads.replacing.set(key, reading);
  }
  return reading;
}
