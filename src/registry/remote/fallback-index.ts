/**
 * The referrers fallback index of a registry without the referrers API: an OCI index under the tag
 * `sha256-<hex>` (distribution-spec §Referrers Tag Schema), kept by every client that pushes referrers. We write
 * it only with read-modify-write (If-Match when the registry sends an ETag), adding to what is there and never
 * replacing it, because other tools (cosign, oras, notation) keep the same index.
 */
import type {Descriptor, Index} from '../../oci/manifest.ts'
import {MediaType} from '../../oci/media-types.ts'
import {type Digest, sha256Digest} from '../../ref/digest.ts'
import {ReferrersError} from '../referrer-manifests.ts'
import type {RemoteRepository} from './connection.ts'
import {getManifestIfPresent, putManifest} from './manifests.ts'

/** Re-reads of the fallback index after a 412, when other writers keep winning the race. */
const FALLBACK_WRITE_ATTEMPTS = 5

/** `sha256:<hex>` → `sha256-<hex>`: algorithm truncated to 32 characters, encoded part to 64 (distribution-spec). */
export function fallbackTag(digest: Digest): string {
  const [algorithm, encoded = ''] = digest.split(':')
  return `${algorithm!.slice(0, 32)}-${encoded.slice(0, 64)}`
}

export interface FallbackIndex {
  index: Index
  /** The index's digest, for conditional writes when the registry sent no ETag. */
  digest: Digest
  etag: string | null
}

/**
 * Reads `sha256-<hex>`; null when absent. We accept every manifest type so that a registry answers with what
 * is there: something other than an index under that tag (cosign copy writes image manifests there) is
 * reported as a conflict instead of being taken for an empty list or overwritten.
 */
export async function readFallbackIndex(handle: RemoteRepository, subject: Digest, signal?: AbortSignal): Promise<FallbackIndex | null> {
  const {repo} = handle
  const tag = fallbackTag(subject)
  const fetched = await getManifestIfPresent(handle, tag, signal ? {signal} : {})
  if (fetched === null) return null
  if (fetched.parsed.kind !== 'index') {
    throw new ReferrersError('FALLBACK_TAG_CONFLICT', `${repo.registry}/${repo.repository}:${tag} holds a ${fetched.mediaType}, not a referrers index`)
  }
  return {index: fetched.parsed.index, digest: fetched.digest, etag: fetched.etag}
}

/**
 * Adds `descriptor` to the fallback index of `subject` unless an entry with its digest is there already (an
 * existing entry is left as it is, even if it lacks metadata). Every other entry and field of the index is kept.
 * A 412 means another writer changed the index between our read and our write: read again and retry, a few times.
 * Limits: creating the index (404 before) is unconditional, and a registry that ignores If-Match (distribution
 * 2.8, measured) or sends no ETag gives last-writer-wins, so callers write one subject's index sequentially.
 */
export async function updateFallbackIndex(
  handle: RemoteRepository,
  subject: Digest,
  descriptor: Descriptor,
  signal?: AbortSignal,
): Promise<'added' | 'present'> {
  const {repo} = handle
  const tag = fallbackTag(subject)
  for (let attempt = 1; attempt <= FALLBACK_WRITE_ATTEMPTS; attempt++) {
    const current = await readFallbackIndex(handle, subject, signal)
    if (current?.index.manifests.some((d) => d.digest === descriptor.digest)) return 'present'
    const base: Index = current?.index ?? {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}
    const next = {...base, mediaType: MediaType.OciIndex, manifests: [...base.manifests, descriptor]}
    const bytes = new TextEncoder().encode(JSON.stringify(next))
    const outcome = await putManifest(
      handle,
      tag,
      {bytes, mediaType: MediaType.OciIndex, digest: sha256Digest(bytes)},
      {ifMatch: current?.etag ?? null, ...(signal ? {signal} : {})},
    )
    if (outcome.kind === 'stored') return 'added'
  }
  throw new ReferrersError('FALLBACK_CONTENDED', `${repo.registry}/${repo.repository}:${tag} kept changing under us (${FALLBACK_WRITE_ATTEMPTS} attempts)`)
}
