/**
 * Hand-made cosign artifacts for discovery and copy tests: legacy `.sig/.att/.sbom` images, sigstore bundle
 * referrers, cosign "oci-1-1" referrers and SBOM referrers, built from literal JSON (notes §1A–1C) rather than
 * from the code under test, and pushed with the raw-fetch helpers of test/support/images.ts. Signatures are
 * opaque strings: these tests are about storage, not cryptography.
 */
import {MediaType} from '../../src/oci/media-types.ts'
import {ANONYMOUS} from '../../src/auth/credential.ts'
import {type Digest, sha256Digest} from '../../src/ref/digest.ts'
import type {FetchedManifest} from '../../src/registry/handle.ts'
import {RegistryClient} from '../../src/registry/client.ts'
import {parseManifest} from '../../src/oci/manifest.ts'
import {Transport} from '../../src/transport/transport.ts'
import {type Blob, type Image, makeImage, pushBlob, pushImage, putManifest} from '../support/images.ts'
import {testPace} from '../support/pace.ts'

export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json'
export const DSSE = 'application/vnd.dsse.envelope.v1+json'
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json'
export const COSIGN_SIG_ARTIFACT = 'application/vnd.dev.cosign.artifact.sig.v1+json'
export const SPDX = 'text/spdx+json'
export const SIGNATURE_KEY = 'dev.cosignproject.cosign/signature'

const encoder = new TextEncoder()

/** A manifest (or index) we built: what to PUT and the blobs it needs first. */
export interface Built {
  bytes: Uint8Array
  digest: Digest
  mediaType: string
  blobs: Blob[]
}

/** A plain-HTTP client for loopback registries, as `apply` would build it minus credentials. */
export function loopbackClient(): RegistryClient {
  const transport = new Transport({credentials: async () => ANONYMOUS, pace: testPace({retry: {maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50}})})
  return new RegistryClient(transport, (registry) => ({registry, baseUrl: `http://${registry}`, scheme: 'fixed'}))
}

export function blob(content: string | Uint8Array, mediaType: string): Blob {
  const bytes = typeof content === 'string' ? encoder.encode(content) : content
  return {bytes, digest: sha256Digest(bytes), mediaType}
}

/** The simple-signing payload cosign signs (sigstore/sigstore payload.go field order). */
export function simpleSigningPayload(repository: string, digest: Digest, note = ''): Blob {
  const optional = note ? `{"note":"${note}"}` : 'null'
  return blob(
    `{"critical":{"identity":{"docker-reference":"${repository}"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":${optional}}`,
    SIMPLE_SIGNING,
  )
}

export function dsseEnvelope(digest: Digest): Blob {
  const statement = btoa(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{name: 'x', digest: {sha256: digest.slice(7)}}],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
    }),
  )
  return blob(`{"payloadType":"application/vnd.in-toto+json","payload":"${statement}","signatures":[{"keyid":"","sig":"c2lnbmF0dXJl"}]}`, DSSE)
}

export interface SignatureLayer {
  blob: Blob
  annotations: Record<string, string>
}

/** cosign's empty-image config for these layer digests, written out literally (233 bytes for one layer). */
export function cosignConfig(digests: readonly string[]): Blob {
  const history = digests.map(() => '{"created":"0001-01-01T00:00:00Z"}').join(',')
  const diffIds = digests.map((d) => `"${d}"`).join(',')
  return blob(
    `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[${history}],"os":"","rootfs":{"type":"layers","diff_ids":[${diffIds}]},"config":{}}`,
    MediaType.OciConfig,
  )
}

/** A legacy signature image (`.sig`, `.att` or `.sbom`), as cosign writes it. */
export function legacyImage(layers: readonly SignatureLayer[]): Built {
  const config = cosignConfig(layers.map((l) => l.blob.digest))
  const body = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: describe(config),
    layers: layers.map((l) => ({...describe(l.blob), ...(Object.keys(l.annotations).length ? {annotations: l.annotations} : {})})),
  }
  return built(body, MediaType.OciManifest, [config, ...layers.map((l) => l.blob)])
}

export function sigLayer(payload: Blob, signature: string, extra: Record<string, string> = {}): SignatureLayer {
  return {blob: payload, annotations: {[SIGNATURE_KEY]: signature, ...extra}}
}

const EMPTY_CONFIG = blob('{}', MediaType.OciEmpty)

/** A referrer with the empty config and the given layers (bundle: one bundle layer; cosign oci-1-1: sig layers). */
export function referrer(
  subject: Image,
  options: {artifactType?: string; layers: SignatureLayer[]; annotations?: Record<string, string>; config?: Blob},
): Built {
  const config = options.config ?? EMPTY_CONFIG
  const body = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    ...(options.artifactType !== undefined ? {artifactType: options.artifactType} : {}),
    config: describe(config),
    layers: options.layers.map((l) => ({...describe(l.blob), ...(Object.keys(l.annotations).length ? {annotations: l.annotations} : {})})),
    subject: {mediaType: subject.mediaType, digest: subject.digest, size: subject.bytes.length},
    ...(options.annotations ? {annotations: options.annotations} : {}),
  }
  return built(body, MediaType.OciManifest, [config, ...options.layers.map((l) => l.blob)])
}

/** A cosign v3 bundle referrer (notes §1B); `seed` makes distinct bundles. */
export function bundleReferrer(subject: Image, seed: string): Built {
  const bundle = blob(
    JSON.stringify({
      mediaType: BUNDLE_V03,
      verificationMaterial: {publicKey: {hint: seed}},
      dsseEnvelope: {payload: btoa(seed), payloadType: 'application/vnd.in-toto+json', signatures: [{sig: 'c2ln'}]},
    }),
    BUNDLE_V03,
  )
  return referrer(subject, {
    artifactType: BUNDLE_V03,
    layers: [{blob: bundle, annotations: {}}],
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
      'org.opencontainers.image.created': '2025-04-07T14:08:20Z',
    },
  })
}

/** cosign `--registry-referrers-mode=oci-1-1` (notes §1C): config and artifactType are the sig artifact type. */
export function cosignOci11Referrer(subject: Image, layers: SignatureLayer[]): Built {
  return referrer(subject, {artifactType: COSIGN_SIG_ARTIFACT, layers, config: blob('{}', COSIGN_SIG_ARTIFACT)})
}

export function sbomReferrer(subject: Image): Built {
  return referrer(subject, {
    artifactType: 'application/spdx+json',
    layers: [{blob: blob('{"spdxVersion":"SPDX-2.3"}', 'application/spdx+json'), annotations: {}}],
  })
}

/** A hand-written fallback index (`sha256-<hex>`), with descriptors exactly as given (stale, empty types…). */
export function fallbackIndex(descriptors: unknown[]): Built {
  return built({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: descriptors}, MediaType.OciIndex, [])
}

export function fallbackTagOf(digest: Digest): string {
  return digest.replace(':', '-')
}

/** Pushes blobs, then the manifest under `reference` (default: its digest). */
export async function push(registryUrl: string, repo: string, content: Built, reference?: string): Promise<Digest> {
  for (const b of content.blobs) await pushBlob(registryUrl, repo, b)
  await putManifest(registryUrl, repo, reference ?? content.digest, content.bytes, content.mediaType)
  return content.digest
}

/** What the client would have read back: the bytes, parsed. */
export function asFetched(content: Built): FetchedManifest {
  return {
    digest: content.digest,
    mediaType: content.mediaType,
    size: content.bytes.length,
    bytes: content.bytes,
    parsed: parseManifest(content.bytes, content.mediaType),
  }
}

export function descriptorOf(content: Built, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {mediaType: content.mediaType, digest: content.digest, size: content.bytes.length, ...extra}
}

function describe(content: Blob): {mediaType: string; digest: Digest; size: number} {
  return {mediaType: content.mediaType, digest: content.digest, size: content.bytes.length}
}

function built(body: unknown, mediaType: string, blobs: Blob[]): Built {
  const bytes = encoder.encode(JSON.stringify(body))
  return {bytes, digest: sha256Digest(bytes), mediaType, blobs}
}

/** Everything a signed image can carry, as pushed by `seedSigned`. */
export interface Seeded {
  image: Image
  sig: Built
  sigLayers: SignatureLayer[]
  att: Built
  sbom: Built
  bundle: Built
  oci11: Built
  sbomReferrer: Built
  /** Listed in the fallback index but deleted: a stale entry (only when the registry has no referrers API). */
  stale: Built
}

/**
 * Pushes an image with a `.sig` (one layer per `signatures` entry), `.att`, `.sbom`, a bundle referrer, a cosign
 * oci-1-1 referrer and an SBOM referrer. Without a referrers API, the fallback index is written by hand the way
 * broken tools leave it: the bundle with an empty artifactType and no annotations (cosign#4641), the oci-1-1
 * one typed `application/vnd.oci.empty.v1+json` (kyverno#16754), the SBOM mislabelled as a bundle, plus a stale
 * entry whose manifest is gone and an entry about another subject.
 */
export async function seedSigned(url: string, repo: string, options: {api: boolean; tag?: string; signatures?: string[]; seed?: string}): Promise<Seeded> {
  const seed = options.seed ?? crypto.randomUUID()
  const image = makeImage({flavor: 'oci', seed})
  await pushImage(url, repo, image, options.tag ?? 'v1')
  const sigLayers = (options.signatures ?? ['MEUCIQsig1']).map((sig, i) => sigLayer(simpleSigningPayload(repo, image.digest, `${seed}-${i}`), sig))
  const sig = legacyImage(sigLayers)
  const att = legacyImage([{blob: dsseEnvelope(image.digest), annotations: {[SIGNATURE_KEY]: '', predicateType: 'https://slsa.dev/provenance/v1'}}])
  const sbom = legacyImage([{blob: blob(`{"spdxVersion":"SPDX-2.3","name":"${seed}"}`, SPDX), annotations: {}}])
  const tag = fallbackTagOf(image.digest)
  await push(url, repo, sig, `${tag}.sig`)
  await push(url, repo, att, `${tag}.att`)
  await push(url, repo, sbom, `${tag}.sbom`)
  const bundle = bundleReferrer(image, `${seed}-bundle`)
  const oci11 = cosignOci11Referrer(image, [sigLayer(simpleSigningPayload(repo, image.digest, `${seed}-oci11`), 'MEUCIQoci11')])
  const sbomRef = sbomReferrer(image)
  const stale = bundleReferrer(image, `${seed}-stale`)
  for (const r of [bundle, oci11, sbomRef, stale]) await push(url, repo, r)
  if (!options.api) {
    const otherImage = makeImage({flavor: 'oci', seed: `${seed}-other`})
    await pushImage(url, repo, otherImage)
    const aboutOther = bundleReferrer(otherImage, `${seed}-other`)
    await push(url, repo, aboutOther)
    const index = fallbackIndex([
      descriptorOf(bundle, {artifactType: ''}),
      descriptorOf(oci11, {artifactType: MediaType.OciEmpty}),
      descriptorOf(sbomRef, {artifactType: BUNDLE_V03}),
      descriptorOf(stale, {artifactType: BUNDLE_V03}),
      descriptorOf(aboutOther, {artifactType: BUNDLE_V03}),
    ])
    await push(url, repo, index, tag)
  }
  const deleted = await fetch(`${url}/v2/${repo}/manifests/${stale.digest}`, {method: 'DELETE'})
  await deleted.arrayBuffer()
  if (deleted.status !== 202) throw new Error(`DELETE of the stale referrer: ${deleted.status}`)
  return {image, sig, sigLayers, att, sbom, bundle, oci11, sbomReferrer: sbomRef, stale}
}
