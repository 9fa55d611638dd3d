/**
 * Helpers for tests of the OCI layout store: temporary directories, storing test images through the store's
 * own API (blobs first, then manifests, as a copy would), a referrer, and reading streams back.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MediaType} from '../../src/oci/media-types.ts'
import {type Digest, sha256Digest} from '../../src/ref/digest.ts'
import type {ManifestPut, OciLayout} from '../../src/registry/layout/layout.ts'
import type {Blob, Image, Index} from './images.ts'

const encoder = new TextEncoder()

/** A fresh directory under the system temp dir; `cleanup` removes it. */
export async function tempDir(prefix = 'layout'): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), `image-syncer-${prefix}-`))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new globalThis.Blob([bytes]).stream()
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

export async function storeBlob(layout: OciLayout, blob: {bytes: Uint8Array; digest: Digest}): Promise<void> {
  await layout.putBlob({digest: blob.digest, size: blob.bytes.length, body: streamOf(blob.bytes)})
}

/** Stores an image's config and layers, then its manifest under `reference` (default: its digest). */
export async function storeImage(layout: OciLayout, image: Image, reference?: string): Promise<ManifestPut> {
  for (const blob of [image.config, ...image.layers]) await storeBlob(layout, blob)
  return layout.putManifest(reference ?? image.digest, image)
}

/** Stores every child image by digest, then the index under `reference`. */
export async function storeIndex(layout: OciLayout, index: Index, reference?: string): Promise<ManifestPut> {
  for (const child of index.children) await storeImage(layout, child)
  return layout.putManifest(reference ?? index.digest, index)
}

/** A manifest we built with the blobs it needs, like test/support/images.ts's Image without the platform. */
export interface Artifact {
  bytes: Uint8Array
  digest: Digest
  mediaType: string
  blobs: Blob[]
}

/** An SBOM-like OCI 1.1 referrer of `subject`: empty config, one layer, artifactType and annotations. */
export function makeReferrer(subject: {digest: Digest; mediaType: string; bytes: Uint8Array}, seed: string): Artifact {
  const config = blobOf(encoder.encode('{}'), MediaType.OciEmpty)
  const layer = blobOf(encoder.encode(JSON.stringify({spdxVersion: 'SPDX-2.3', name: seed})), 'application/spdx+json')
  const bytes = encoder.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/spdx+json',
      config: {mediaType: config.mediaType, digest: config.digest, size: config.bytes.length},
      layers: [{mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length}],
      subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length},
      annotations: {'org.example.seed': seed},
    }),
  )
  return {bytes, digest: sha256Digest(bytes), mediaType: MediaType.OciManifest, blobs: [config, layer]}
}

export async function storeArtifact(layout: OciLayout, artifact: Artifact, reference?: string): Promise<ManifestPut> {
  for (const blob of artifact.blobs) await storeBlob(layout, blob)
  return layout.putManifest(reference ?? artifact.digest, artifact)
}

function blobOf(bytes: Uint8Array, mediaType: string): Blob {
  return {bytes, digest: sha256Digest(bytes), mediaType}
}
