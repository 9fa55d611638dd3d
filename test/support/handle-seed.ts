/**
 * Seeding any store through its RepositoryHandle, in the order a copy writes (blobs, then child manifests by
 * digest, then the manifest under its reference), so one helper fills a memory store, a registry and a layout.
 */
import type {Digest} from '../../src/ref/digest.ts'
import type {BlobSource, RepositoryHandle} from '../../src/registry/handle.ts'
import type {Image, Index} from './images.ts'

/** A blob to put: opened from `bytes`, declared with `size` (default: their length). */
export function blobSource(blob: {bytes: Uint8Array; digest: Digest}, size = blob.bytes.byteLength): BlobSource {
  return {digest: blob.digest, size, open: async () => new Blob([blob.bytes]).stream()}
}

/** The image's config and layers, then its manifest under `reference` (default: its digest). */
export async function seedImage(handle: RepositoryHandle, image: Image, reference: string = image.digest): Promise<void> {
  for (const blob of [image.config, ...image.layers]) await handle.putBlob(blobSource(blob))
  await handle.putManifest(reference, image)
}

/** Every child image by digest, then the index under `reference` (default: its digest). */
export async function seedIndex(handle: RepositoryHandle, index: Index, reference: string = index.digest): Promise<void> {
  for (const child of index.children) await seedImage(handle, child)
  await handle.putManifest(reference, index)
}
