/**
 * Manifests made from another's JSON, for copy tests that need two manifests sharing content (the same blobs
 * under another digest) or one descriptor listed with a wrong size. Re-serialised, so digests change.
 */
import {type Digest, sha256Digest} from '../../src/ref/digest.ts'

/** Manifest bytes with their media type and digest, as a handle's putManifest takes them. */
interface ManifestContent {
  bytes: Uint8Array
  mediaType: string
  digest: Digest
}

interface Descriptor {
  digest: string
  size: number
}

interface ManifestJson {
  config?: Descriptor
  layers?: Descriptor[]
  manifests?: Descriptor[]
  annotations?: Record<string, string>
}

/** The same manifest with an annotation: another digest, the same config and layers (or children). */
export function annotated(manifest: ManifestContent, note: string): ManifestContent {
  return rewritten(manifest, (json) => {
    json.annotations = {...json.annotations, 'org.example.note': note}
  })
}

/** The manifest with the descriptor `pick` chooses listed one byte too large. */
export function misSized(manifest: ManifestContent, pick: (json: ManifestJson) => Descriptor): ManifestContent {
  return rewritten(manifest, (json) => {
    pick(json).size += 1
  })
}

function rewritten(manifest: ManifestContent, change: (json: ManifestJson) => void): ManifestContent {
  const json = JSON.parse(new TextDecoder().decode(manifest.bytes)) as ManifestJson
  change(json)
  const bytes = new TextEncoder().encode(JSON.stringify(json))
  return {bytes, mediaType: manifest.mediaType, digest: sha256Digest(bytes)}
}
