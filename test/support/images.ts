/**
 * Test images: manifests, configs and layers with exact media types and bytes, plus a tiny push helper.
 *
 * Content is random, or derived from a seed string so that two calls with the same seed build the same image
 * byte for byte (same digests) and a different seed builds a different one. That is what staleness and
 * "already present" tests need. The blobs are opaque random bytes, not real tarballs: registries never look
 * inside a layer, and neither does image-syncer.
 *
 * The push helpers speak raw `fetch` on purpose. They seed registries for tests of our client, so they must not
 * share its code (or its bugs).
 */
import {MANIFEST_ACCEPT, MediaType} from '../../src/oci/media-types.ts'
import {type Digest, sha256Digest} from '../../src/ref/digest.ts'

export type Flavor = 'oci' | 'docker'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export interface Blob {
  bytes: Uint8Array
  digest: Digest
  mediaType: string
}

export interface Image {
  mediaType: string
  /** The manifest, exactly as pushed. */
  bytes: Uint8Array
  digest: Digest
  config: Blob
  layers: Blob[]
  platform: Platform
}

export interface Index {
  mediaType: string
  bytes: Uint8Array
  digest: Digest
  /** Every manifest the index lists, in its order: the platform images, then their attestations (as buildx does). */
  children: Image[]
  /** Only the attestation manifests (empty unless `attestation: true`). */
  attestations: Image[]
}

export interface ImageOptions {
  flavor: Flavor
  platform?: Platform
  /** Default 2. */
  layers?: number
  /** Bytes per layer, default 512. */
  layerSize?: number
  /** Same seed, same bytes. Without one, every call builds a new image. */
  seed?: string
}

export interface IndexOptions {
  flavor: Flavor
  platforms: Platform[]
  /** Adds a buildx-style attestation manifest for each platform image. */
  attestation?: boolean
  seed?: string
  layers?: number
  layerSize?: number
  /** The index's own annotations (a platform subset keeps them). */
  annotations?: Record<string, string>
}

export const ATTESTATION_LAYER_MEDIA_TYPE = 'application/vnd.in-toto+json'
const DEFAULT_PLATFORM: Platform = {os: 'linux', architecture: 'amd64'}
const encoder = new TextEncoder()

export function makeImage(options: ImageOptions): Image {
  const seed = options.seed ?? crypto.randomUUID()
  const platform = options.platform ?? DEFAULT_PLATFORM
  const oci = options.flavor === 'oci'
  const layerMediaType = oci ? MediaType.OciLayerGzip : MediaType.DockerLayerGzip
  const layers = Array.from({length: options.layers ?? 2}, (_, i) =>
    blob(pseudoRandomBytes(`${seed}/${platformKey(platform)}/layer/${i}`, options.layerSize ?? 512), layerMediaType),
  )
  const config = blob(
    json({
      ...platform,
      created: '1970-01-01T00:00:00Z',
      config: {Labels: {'org.example.seed': seed}},
      rootfs: {type: 'layers', diff_ids: layers.map((layer) => layer.digest)},
    }),
    oci ? MediaType.OciConfig : MediaType.DockerConfig,
  )
  return manifestOf(oci ? MediaType.OciManifest : MediaType.DockerManifest, config, layers, platform)
}

export function makeIndex(options: IndexOptions): Index {
  const seed = options.seed ?? crypto.randomUUID()
  const images = options.platforms.map((platform) => makeImage({flavor: options.flavor, platform, seed, layers: options.layers, layerSize: options.layerSize}))
  const attestations = options.attestation ? images.map((image) => makeAttestation(image, seed)) : []
  const descriptors = [
    ...images.map((image) => ({...descriptorOf(image), platform: image.platform})),
    ...attestations.map((attestation, i) => ({
      ...descriptorOf(attestation),
      annotations: {
        'vnd.docker.reference.digest': images[i]!.digest,
        'vnd.docker.reference.type': 'attestation-manifest',
      },
      platform: attestation.platform,
    })),
  ]
  const children = [...images, ...attestations]
  const mediaType = options.flavor === 'oci' ? MediaType.OciIndex : MediaType.DockerManifestList
  const bytes = json({schemaVersion: 2, mediaType, manifests: descriptors, ...(options.annotations ? {annotations: options.annotations} : {})})
  return {mediaType, bytes, digest: sha256Digest(bytes), children, attestations}
}

/**
 * What `docker buildx build --attest type=provenance` adds next to each image: an OCI manifest for platform
 * unknown/unknown whose layer is an in-toto statement about the image. Always OCI, even in a Docker list.
 */
function makeAttestation(subject: Image, seed: string): Image {
  const platform: Platform = {os: 'unknown', architecture: 'unknown'}
  const statement = blob(
    json({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: 'https://slsa.dev/provenance/v0.2',
      subject: [{name: 'test', digest: {sha256: subject.digest.slice('sha256:'.length)}}],
      predicate: {buildType: 'https://example.invalid/test', seed},
    }),
    ATTESTATION_LAYER_MEDIA_TYPE,
  )
  const config = blob(json({...platform, config: {}, rootfs: {type: 'layers', diff_ids: [statement.digest]}}), MediaType.OciConfig)
  return manifestOf(MediaType.OciManifest, config, [statement], platform, {
    'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2',
  })
}

function manifestOf(mediaType: string, config: Blob, layers: Blob[], platform: Platform, layerAnnotations?: Record<string, string>): Image {
  const bytes = json({
    schemaVersion: 2,
    mediaType,
    config: descriptorOf(config),
    layers: layers.map((layer) => ({
      ...descriptorOf(layer),
      ...(layerAnnotations ? {annotations: layerAnnotations} : {}),
    })),
  })
  return {mediaType, bytes, digest: sha256Digest(bytes), config, layers, platform}
}

function descriptorOf(content: {mediaType: string; digest: Digest; bytes: Uint8Array}) {
  return {mediaType: content.mediaType, digest: content.digest, size: content.bytes.length}
}

function blob(bytes: Uint8Array, mediaType: string): Blob {
  return {bytes, digest: sha256Digest(bytes), mediaType}
}

/** Pretty-printed like Docker's own manifests, so a client that re-serialises JSON changes the digest. */
function json(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value, null, 3))
}

function platformKey(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant ?? ''].join('/')
}

/** sha256 in counter mode: deterministic, fast enough for test-sized blobs, and needs no dependency. */
export function pseudoRandomBytes(seed: string, size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let offset = 0, block = 0; offset < size; block++) {
    const chunk = new Bun.CryptoHasher('sha256').update(`${seed}#${block}`).digest()
    out.set(chunk.subarray(0, Math.min(chunk.length, size - offset)), offset)
    offset += chunk.length
  }
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Seeding a registry over plain HTTP (no auth).

/** Pushes blobs, then the manifest by tag (or by digest without a tag). Returns the manifest digest. */
export async function pushImage(registryUrl: string, repo: string, image: Image, tag?: string): Promise<Digest> {
  for (const content of [image.config, ...image.layers]) await pushBlob(registryUrl, repo, content)
  await putManifest(registryUrl, repo, tag ?? image.digest, image.bytes, image.mediaType)
  return image.digest
}

/** Pushes every child by digest first (a registry refuses an index whose children it lacks), then the index. */
export async function pushIndex(registryUrl: string, repo: string, index: Index, tag?: string): Promise<Digest> {
  for (const child of index.children) await pushImage(registryUrl, repo, child)
  await putManifest(registryUrl, repo, tag ?? index.digest, index.bytes, index.mediaType)
  return index.digest
}

/** HEAD, then POST + one monolithic `PUT ?digest=` when the blob is missing. */
export async function pushBlob(registryUrl: string, repo: string, content: Blob): Promise<void> {
  const head = await fetch(`${registryUrl}/v2/${repo}/blobs/${content.digest}`, {method: 'HEAD'})
  if (head.status === 200) return
  const start = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, {method: 'POST'})
  await expectStatus(start, 202, `POST /v2/${repo}/blobs/uploads/`)
  const location = new URL(start.headers.get('location') ?? '', registryUrl)
  location.searchParams.set('digest', content.digest)
  const put = await fetch(location, {
    method: 'PUT',
    body: content.bytes,
    headers: {'Content-Type': 'application/octet-stream'},
  })
  await expectStatus(put, 201, `PUT blob ${content.digest} to ${repo}`)
}

export async function putManifest(registryUrl: string, repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<void> {
  const response = await fetch(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    body: bytes,
    headers: {'Content-Type': mediaType},
  })
  await expectStatus(response, 201, `PUT /v2/${repo}/manifests/${reference}`)
}

export interface ManifestHead {
  status: number
  digest: string | null
  mediaType: string | null
  /** Content-Length as a number, null when absent. */
  size: number | null
}

export async function headManifest(registryUrl: string, repo: string, reference: string): Promise<ManifestHead> {
  const response = await fetch(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'HEAD',
    headers: {Accept: MANIFEST_ACCEPT},
  })
  return headOf(response)
}

function headOf(response: Response): ManifestHead {
  const length = response.headers.get('content-length')
  return {
    status: response.status,
    digest: response.headers.get('docker-content-digest'),
    mediaType: response.headers.get('content-type'),
    size: length === null ? null : Number(length),
  }
}

export interface ManifestGet extends ManifestHead {
  bytes: Uint8Array
}

export async function getManifest(registryUrl: string, repo: string, reference: string): Promise<ManifestGet> {
  const response = await fetch(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
    headers: {Accept: MANIFEST_ACCEPT},
  })
  const bytes = new Uint8Array(await response.arrayBuffer())
  return {...headOf(response), bytes}
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status === status) {
    await response.arrayBuffer()
    return
  }
  const body = await response.text()
  throw new Error(`${what}: expected ${status}, got ${response.status}: ${body.slice(0, 500)}`)
}
