/**
 * What makes a manifest a referrer (its `subject`, read from a manifest being put too), the descriptor that lists
 * it in a referrers index, and the bounds and error of referrer listings: the same for every store
 * (remote/referrers.ts, layout/layout.ts).
 */
import {type Descriptor, parseManifest} from '../oci/manifest.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import {SyncerError} from '../ref/errors.ts'
import type {FetchedManifest, ManifestToPut, ReferrerRecord, RepositoryHandle} from './handle.ts'

/** Why referrers could not be read or recorded; `FALLBACK_TAG_CONFLICT`: `sha256-<hex>` holds a non-index. */
export class ReferrersError extends SyncerError {
  override readonly name = 'ReferrersError'
  /** Listings and fallback indexes that are too large or malformed: content the registry serves, not its protocol. */
  readonly category = 'content' as const
  constructor(
    readonly code: 'TOO_MANY_PAGES' | 'TOO_MANY_REFERRERS' | 'FALLBACK_TAG_CONFLICT' | 'FALLBACK_CONTENDED' | 'NOT_A_REFERRER',
    message: string,
  ) {
    super(message)
  }
}

/**
 * Referrers read for one digest. Each is fetched (a manifest of up to 4 MiB) and kept for copying, so the
 * list must be bounded in total, not only per page; real images carry a handful (signatures, SBOMs, provenance).
 */
export const MAX_REFERRERS = 1000
/**
 * The descriptor that represents `manifest` in a referrers list: its own `artifactType`, else its config's media
 * type, and all of its annotations (distribution-spec §Listing Referrers; cosign#4641 shows what omitting them costs).
 */
export function referrerDescriptor(manifest: FetchedManifest): Descriptor {
  const body = manifest.parsed.kind === 'image' ? manifest.parsed.manifest : manifest.parsed.index
  const artifactType = body.artifactType ?? (manifest.parsed.kind === 'image' ? manifest.parsed.manifest.config.mediaType : undefined)
  return {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    ...(artifactType !== undefined ? {artifactType} : {}),
    ...(body.annotations && Object.keys(body.annotations).length > 0 ? {annotations: {...body.annotations}} : {}),
  }
}

/** The subject digest of a referrer manifest, or null when it has none (then it is no referrer). */
export function subjectOf(manifest: FetchedManifest): string | null {
  const body = manifest.parsed.kind === 'image' ? manifest.parsed.manifest : manifest.parsed.index
  return body.subject?.digest ?? null
}

/** The subject of a referrer manifest as a digest; a manifest without one cannot be pushed as a referrer. */
export function subjectDigestOf(manifest: FetchedManifest): Digest {
  const subject = subjectOf(manifest)
  if (subject === null || !isDigest(subject)) throw new ReferrersError('NOT_A_REFERRER', `manifest ${manifest.digest} has no valid subject`)
  return subject
}

/** A manifest given to a put, parsed (the caller's parse when it gave one), so a store can read its `subject`. */
export function parsedForPut(manifest: ManifestToPut): FetchedManifest {
  const parsed = manifest.parsed ?? parseManifest(manifest.bytes, manifest.mediaType)
  return {digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.byteLength, bytes: manifest.bytes, parsed}
}

/**
 * PUTs a referrer manifest by digest; the put makes it findable (see RepositoryHandle.putManifest) and says how.
 * The manifest's blobs must already be in `repo`.
 */
export async function putReferrer(handle: RepositoryHandle, manifest: FetchedManifest, signal?: AbortSignal): Promise<ReferrerRecord> {
  subjectDigestOf(manifest)
  const outcome = await handle.putManifest(manifest.digest, manifest, signal ? {signal} : {})
  // Neither can happen for an unconditional put of a manifest with a subject; a store that says so is broken.
  if (outcome.kind !== 'stored' || outcome.referrer === null) throw new Error(`${handle.name}: the referrer ${manifest.digest} was not stored as one`)
  return outcome.referrer
}
