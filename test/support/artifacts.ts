/**
 * Test OCI artifacts: manifests that are no container image, as `helm push` and `oras push` write them. A Helm
 * chart has a config of type `application/vnd.cncf.helm.config.v1+json` and one chart tarball layer; an
 * `artifactType` artifact has the empty config (`{}`) and says what it is in `artifactType`. Neither has a
 * platform. Seeded like test/support/images.ts (same seed, same digests) and pushed with its raw-fetch helpers.
 */
import {MediaType} from '../../src/oci/media-types.ts'
import {type Digest, sha256Digest} from '../../src/ref/digest.ts'
import {type Blob, pseudoRandomBytes, pushBlob, putManifest} from './images.ts'

export const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json'
export const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip'

export interface Artifact {
  mediaType: string
  /** The manifest, exactly as pushed. */
  bytes: Uint8Array
  digest: Digest
  config: Blob
  layers: Blob[]
}

const encoder = new TextEncoder()

/** What `helm push` writes for chart `name` `version`: OCI manifest, Helm config, one chart layer. */
export function makeHelmChart(name: string, version: string): Artifact {
  const config = blob(encoder.encode(JSON.stringify({name, version, apiVersion: 'v2', description: 'test chart'})), HELM_CONFIG)
  const chart = blob(pseudoRandomBytes(`${name}-${version}.tgz`, 700), HELM_CHART_LAYER)
  return manifest(config, [chart], {annotations: {'org.opencontainers.image.title': name, 'org.opencontainers.image.version': version}})
}

/** What `oras push --artifact-type TYPE` writes (OCI 1.1): the empty config, `artifactType`, one layer. */
export function makeTypedArtifact(artifactType: string, seed: string): Artifact {
  const empty = blob(encoder.encode('{}'), MediaType.OciEmpty)
  const layer = blob(pseudoRandomBytes(seed, 300), 'application/spdx+json')
  return manifest(empty, [layer], {artifactType})
}

/** Blobs, then the manifest by tag, or by digest (untagged) without one. */
export async function pushArtifact(registryUrl: string, repo: string, artifact: Artifact, tag?: string): Promise<void> {
  for (const content of [artifact.config, ...artifact.layers]) await pushBlob(registryUrl, repo, content)
  await putManifest(registryUrl, repo, tag ?? artifact.digest, artifact.bytes, artifact.mediaType)
}

function manifest(config: Blob, layers: Blob[], extra: {artifactType?: string; annotations?: Record<string, string>}): Artifact {
  const descriptor = (b: Blob) => ({mediaType: b.mediaType, digest: b.digest, size: b.bytes.length})
  const mediaType = MediaType.OciManifest
  const body = {
    schemaVersion: 2,
    mediaType,
    ...(extra.artifactType ? {artifactType: extra.artifactType} : {}),
    config: descriptor(config),
    layers: layers.map(descriptor),
    ...(extra.annotations ? {annotations: extra.annotations} : {}),
  }
  // Indented, so a client that re-serialises the JSON changes the digest.
  const bytes = encoder.encode(JSON.stringify(body, null, 3))
  return {mediaType, bytes, digest: sha256Digest(bytes), config, layers}
}

function blob(bytes: Uint8Array, mediaType: string): Blob {
  return {bytes, digest: sha256Digest(bytes), mediaType}
}
