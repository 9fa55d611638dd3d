/**
 * Test images whose layers are real gzip streams, for tests that hand images to skopeo. skopeo (containers/
 * image) sniffs layer compression while copying: a layer declared `+gzip` that is not gzip gets compressed on
 * the way, which rewrites the manifest and changes every digest. test/support/images.ts's opaque random
 * layers are right for registries, which never look inside; these are for a client that does.
 */
import {MediaType} from '../../src/oci/media-types.ts'
import {sha256Digest} from '../../src/ref/digest.ts'
import {type Blob, type Image, type Index, type Platform, pseudoRandomBytes} from './images.ts'

const encoder = new TextEncoder()

/** An OCI image whose layers are gzip-compressed pseudo-random bytes; same seed, same bytes. */
export function makeGzipImage(seed: string, platform: Platform = {os: 'linux', architecture: 'amd64'}, layerCount = 2): Image {
  const raw = Array.from({length: layerCount}, (_, i) => pseudoRandomBytes(`${seed}/${platform.os}/${platform.architecture}/${i}`, 2048))
  const layers = raw.map((bytes) => blobOf(Bun.gzipSync(new Uint8Array(bytes)), MediaType.OciLayerGzip))
  const config = blobOf(
    json({
      ...platform,
      created: '1970-01-01T00:00:00Z',
      config: {Labels: {'org.example.seed': seed}},
      rootfs: {type: 'layers', diff_ids: raw.map((bytes) => sha256Digest(bytes))},
    }),
    MediaType.OciConfig,
  )
  const bytes = json({schemaVersion: 2, mediaType: MediaType.OciManifest, config: describe(config), layers: layers.map(describe)})
  return {mediaType: MediaType.OciManifest, bytes, digest: sha256Digest(bytes), config, layers, platform}
}

/** An OCI index of one gzip image per platform. */
export function makeGzipIndex(seed: string, platforms: Platform[]): Index {
  const children = platforms.map((platform) => makeGzipImage(seed, platform))
  const bytes = json({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: children.map((child) => ({...describe(child), platform: child.platform}))})
  return {mediaType: MediaType.OciIndex, bytes, digest: sha256Digest(bytes), children, attestations: []}
}

function blobOf(bytes: Uint8Array, mediaType: string): Blob {
  return {bytes, digest: sha256Digest(bytes), mediaType}
}

function describe(content: {mediaType: string; digest: string; bytes: Uint8Array}) {
  return {mediaType: content.mediaType, digest: content.digest, size: content.bytes.length}
}

/** Pretty-printed, so a client that re-serialises JSON would change the digest and be caught. */
function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value, null, 3))
}
