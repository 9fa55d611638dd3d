/**
 * A hostile index DAG: level 0 is one image, and every level above is an OCI index that lists the level below
 * twice. Walked as a tree it has 2^depth paths to the image; walked as a DAG it has depth + 1 distinct manifests.
 */
import {MediaType} from '../../src/oci/media-types.ts'
import {type Digest, sha256Digest} from '../../src/ref/digest.ts'
import {type Image, makeImage, pushImage, putManifest} from './images.ts'

export interface NestedIndex {
  image: Image
  /** The indexes from level 1 (lists the image) up to the top, which is the last. */
  levels: {digest: Digest; bytes: Uint8Array}[]
  top: Digest
}

export function makeNestedIndex(depth: number, seed = crypto.randomUUID()): NestedIndex {
  const image = makeImage({flavor: 'oci', seed})
  const levels: NestedIndex['levels'] = []
  let child = {mediaType: image.mediaType, digest: image.digest, size: image.bytes.byteLength}
  for (let level = 1; level <= depth; level++) {
    const bytes = new TextEncoder().encode(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [child, child]}))
    const digest = sha256Digest(bytes)
    levels.push({digest, bytes})
    child = {mediaType: MediaType.OciIndex, digest, size: bytes.byteLength}
  }
  return {image, levels, top: levels.at(-1)?.digest ?? image.digest}
}

/** Pushes bottom-up by digest (a registry refuses an index whose children it lacks), the top also under `tag`. */
export async function pushNestedIndex(registryUrl: string, repo: string, nested: NestedIndex, tag: string): Promise<void> {
  await pushImage(registryUrl, repo, nested.image)
  for (const level of nested.levels) await putManifest(registryUrl, repo, level.digest, level.bytes, MediaType.OciIndex)
  const top = nested.levels.at(-1)
  if (top) await putManifest(registryUrl, repo, tag, top.bytes, MediaType.OciIndex)
}
