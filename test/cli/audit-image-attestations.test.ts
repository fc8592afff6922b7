import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { packTar, type TarEntry } from '../support/hostile-tar.js';
import { GHSA_NPM, runCli, sha256Of, tempDir } from '../support/shared.js';
import { tarFile } from '../support/shipped-artifacts.js';

/**
 * An OCI image layout as `docker buildx build --output type=oci` writes it: index.json names an
 * image index holding the platform's image manifest and, beside it, buildx's provenance
 * attestation (on by default since buildx 0.10): a manifest with platform unknown/unknown, the
 * annotation `vnd.docker.reference.type: attestation-manifest`, and one "layer" that is an in-toto
 * JSON statement (`application/vnd.in-toto+json`), which no runtime unpacks (Docker's attestation
 * storage document: unknown media types are ignored). stowage read that statement as a tar layer
 * and refused every such image ("truncated archive before the first entry").
 */

const cacheDir = tempDir('audit-image-attestations-cache');
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const MINIMIST_FINDINGS = ['GHSA-vh95-rmgr-6w4m minimist@0.0.8', 'GHSA-xvch-5gv4-984h minimist@0.0.8'];

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
}

function oneLine(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
  assert.equal(errors.length, 1, stderr);
  return errors[0] as string;
}

const npmFindings = (report: AuditReport): string[] => report.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();
const descriptor = (mediaType: string, data: Buffer, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ mediaType, digest: `sha256:${sha256Of(data)}`, size: data.length, ...extra });

/** The archive: the image (its layer of the media type given) and, when asked, an attestation (marked as buildx marks it, or not; its statement of another media type). */
async function buildxLayout(options: { layerMediaType?: string; attestation?: { marked: boolean; layerMediaType?: string } }): Promise<string> {
  const layer = await packTar([
    tarFile('app/package.json', JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { minimist: '0.0.8' } })),
    tarFile('app/node_modules/minimist/package.json', JSON.stringify({ name: 'minimist', version: '0.0.8' })),
  ]);
  const config = json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha256Of(layer)}`] } });
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor('application/vnd.oci.image.config.v1+json', config),
    layers: [descriptor(options.layerMediaType ?? 'application/vnd.oci.image.layer.v1.tar', layer)],
  });
  const blobs = [layer, config, manifest];
  const manifests = [descriptor('application/vnd.oci.image.manifest.v1+json', manifest, { platform: { architecture: 'amd64', os: 'linux' } })];
  if (options.attestation) {
    const statement = json({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{ name: 'pkg:docker/demo@1', digest: { sha256: sha256Of(manifest) } }], predicate: {} });
    const attestationConfig = json({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256Of(statement)}`] } });
    const attestation = json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: descriptor('application/vnd.oci.image.config.v1+json', attestationConfig),
      layers: [descriptor(options.attestation.layerMediaType ?? 'application/vnd.in-toto+json', statement, { annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } })],
    });
    const marked = options.attestation.marked ? { 'vnd.docker.reference.digest': `sha256:${sha256Of(manifest)}`, 'vnd.docker.reference.type': 'attestation-manifest' } : {};
    manifests.push(descriptor('application/vnd.oci.image.manifest.v1+json', attestation, { annotations: marked, platform: { architecture: 'unknown', os: 'unknown' } }));
    blobs.push(statement, attestationConfig, attestation);
  }
  const index = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests });
  blobs.push(index);
  const top = json({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [descriptor('application/vnd.oci.image.index.v1+json', index, { annotations: { 'org.opencontainers.image.ref.name': 'demo:1' } })] });
  const archive = join(tempDir('audit-image-attestations'), 'image.tar');
  const blob = (data: Buffer): TarEntry => tarFile(`blobs/sha256/${sha256Of(data)}`, data);
  writeFileSync(archive, await packTar([tarFile('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' })), tarFile('index.json', top), ...blobs.map(blob)]));
  return archive;
}

test("buildx's OCI export with its provenance attestation: the image is audited, the attestation passed over, and the image named by the index's tag", async () => {
  const archive = await buildxLayout({ attestation: { marked: true } });
  const run = audit(archive);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(npmFindings(report), MINIMIST_FINDINGS);
  assert.deepEqual(report.warnings.filter((w) => w.includes('not an image')), []);
  // The SBOM of the same archive names the image by the tag its index carries.
  const sbom = runCli(['sbom', archive, '--no-licenses'], { cacheDir });
  assert.equal(sbom.status, 0, sbom.stderr);
  const component = (JSON.parse(sbom.stdout) as { metadata: { component: { name: string; version?: string } } }).metadata.component;
  assert.deepEqual([component.name, component.version], ['demo', '1']);
});

test('a manifest with no file system layer that is not marked as an attestation: passed over, named in a warning', async () => {
  const archive = await buildxLayout({ attestation: { marked: false, layerMediaType: 'application/spdx+json' } });
  const run = audit(archive);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(npmFindings(report), MINIMIST_FINDINGS);
  assert.equal(report.warnings.filter((w) => /a manifest without file system layers \(application\/spdx\+json\), not an image: not audited/.test(w)).length, 1, report.warnings.join('\n'));
});

test('an image layer in a form stowage does not read (encrypted): refused in one line naming the manifest', async () => {
  const encrypted = await buildxLayout({ layerMediaType: 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted' });
  const run = audit(encrypted);
  assert.equal(run.status, 2, run.stderr);
  assert.match(oneLine(run.stderr), /image\.tar:blobs\/sha256\/[0-9a-f]{64}: layers\[0\] is an "application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip\+encrypted" layer, which stowage does not read/);
});
