/**
 * OCI 1.1 referrers: the manifests whose `subject` is a given digest (sigstore bundles, SBOMs, cosign
 * "oci-1-1" signatures). Registries either answer `GET /v2/<name>/referrers/<digest>` with an OCI index, or
 * they do not know the API at all (distribution 2.8 answers a plain-text router 404), and then clients keep a
 * fallback index under the tag `sha256-<hex>` themselves (distribution-spec §Referrers Tag Schema).
 *
 * Like go-containerregistry we treat anything but a 200 OCI index as "no API" and read the fallback tag. We
 * write the fallback index only with read-modify-write (If-Match when the registry sends an ETag), adding to
 * what is there and never replacing it, because other tools (cosign, oras, notation) keep the same index.
 */
import {SyncerError} from '../ref/errors.ts'
import {type Descriptor, type Index, parseManifest} from '../oci/manifest.ts'
import {MediaType, baseMediaType} from '../oci/media-types.ts'
import {type Digest, isDigest, sha256Digest} from '../ref/digest.ts'
import {readLimited} from '../transport/body.ts'
import {RegistryError} from '../transport/errors.ts'
import {type FetchedManifest, MAX_MANIFEST_BYTES, pullScope, type Repository} from './client.ts'
import type {ReferrerRecord, RepositoryHandle} from './handle.ts'
import type {RegistryRepository} from './registry-repository.ts'
import {nextLink} from './link.ts'
import {listTags} from './tags.ts'

export type ReferrersApi = 'supported' | 'unsupported'

export interface ReferrerList {
  /** Whether the registry answered the referrers API; `unsupported` means the list came from the fallback tag. */
  api: ReferrersApi
  descriptors: Descriptor[]
}

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

/** Pages of one referrers listing we follow; a registry that links further is looping or hostile. */
const MAX_REFERRER_PAGES = 64
/**
 * Referrers read for one digest. Each is fetched (a manifest of up to 4 MiB) and kept for copying, so the
 * list must be bounded in total, not only per page; real images carry a handful (signatures, SBOMs, provenance).
 */
export const MAX_REFERRERS = 1000
/** Re-reads of the fallback index after a 412, when other writers keep winning the race. */
const FALLBACK_WRITE_ATTEMPTS = 5

/** The digest the API ping asks about: nothing refers to it, so a supporting registry answers an empty index. */
const ZERO_DIGEST: Digest = `sha256:${'0'.repeat(64)}`

/**
 * Statuses that mean "this registry has no referrers API": a router 404 (distribution 2.8), or a proxy that
 * refuses the path. Auth failures and server errors stay errors, since the fallback tag would fail the same way.
 */
const NO_API_STATUS = [400, 404, 405, 406, 415, 501]

/** `sha256:<hex>` → `sha256-<hex>`: algorithm truncated to 32 characters, encoded part to 64 (distribution-spec). */
export function fallbackTag(digest: Digest): string {
  const [algorithm, encoded = ''] = digest.split(':')
  return `${algorithm!.slice(0, 32)}-${encoded.slice(0, 64)}`
}

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

/**
 * Lists the referrers of `digest` in `repo`: from the API when the registry has it (every page, bounded),
 * otherwise from the fallback tag (absent = no referrers). Whether the registry has the API is asked once per
 * registry and client. Descriptors are returned as listed; callers must fetch each manifest before trusting its
 * type, because fallback indexes written by older cosign lack it. More than MAX_REFERRERS is refused: every one
 * is fetched next, so an unbounded list is unbounded memory and requests.
 */
export async function listReferrers(handle: RegistryRepository, digest: Digest, signal?: AbortSignal): Promise<ReferrerList> {
  const {repo} = handle
  if (!(await referrersApiSupported(handle, signal))) {
    return {api: 'unsupported', descriptors: capped(repo, digest, await fallbackDescriptors(handle, digest, signal))}
  }
  const descriptors: Descriptor[] = []
  const seen = new Set<string>()
  let url: string | null = null
  for (let page = 0; ; page++) {
    if (page >= MAX_REFERRER_PAGES) {
      throw new ReferrersError('TOO_MANY_PAGES', `${repo.registry}/${repo.repository}: referrers of ${digest} span more than ${MAX_REFERRER_PAGES} pages`)
    }
    const answer = await referrersPage(handle, digest, url, signal)
    if (answer === null) {
      // The ping said the API exists; a page that is not an index is a broken registry, and half a list would
      // silently drop signatures.
      throw new RegistryError({method: 'GET', url: url ?? `${handle.connection.baseUrl(repo)}/v2/${repo.repository}/referrers/${digest}`, status: 200, reason: 'a referrers page is not an OCI index'})
    }
    descriptors.push(...capped(repo, digest, answer.index.manifests, descriptors.length))
    if (answer.next === null || seen.has(answer.next)) break
    seen.add(answer.next)
    url = answer.next
  }
  return {api: 'supported', descriptors}
}

/** `more` when they keep the listing within MAX_REFERRERS (`already` listed before them); else the refusal. */
function capped(repo: Repository, digest: Digest, more: Descriptor[], already = 0): Descriptor[] {
  if (already + more.length > MAX_REFERRERS) {
    throw new ReferrersError('TOO_MANY_REFERRERS', `${repo.registry}/${repo.repository}: ${digest} has more than ${MAX_REFERRERS} referrers, the most image-syncer reads for one digest`)
  }
  return more
}

/**
 * The entries of the fallback index for reading. A non-index under the tag (cosign copy pushes image manifests
 * there) lists nothing: "accept an index only", as go-containerregistry does.
 */
async function fallbackDescriptors(handle: RegistryRepository, digest: Digest, signal?: AbortSignal): Promise<Descriptor[]> {
  // The repository's tag list, read once, says whether the tag exists: no GET per digest for an absent one.
  // Unlisted, a HEAD (free on Docker Hub) asks instead, so that the GET is spent only on a tag that exists.
  const listing = await listTags(handle, signal)
  const present = listing.kind === 'listed' ? listing.tags.has(fallbackTag(digest)) : (await handle.headManifest(fallbackTag(digest), signal)) !== null
  if (!present) return []
  try {
    return (await readFallbackIndex(handle, digest, signal))?.index.manifests ?? []
  } catch (err) {
    if (err instanceof ReferrersError && err.code === 'FALLBACK_TAG_CONFLICT') return []
    throw err
  }
}

/**
 * Whether `repo`'s registry serves the referrers API, by pinging it with the zero digest (as `@sigstore/oci`
 * does), cached per client and registry: support is a property of the registry software, and we must ask it
 * once per subject otherwise. Failures are not cached.
 */
export function referrersApiSupported(handle: RegistryRepository, signal?: AbortSignal): Promise<boolean> {
  return handle.connection.memo(`referrers-api ${handle.repo.registry}`, () => referrersPage(handle, ZERO_DIGEST, null, signal).then((page) => page !== null))
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
export async function readFallbackIndex(handle: RegistryRepository, subject: Digest, signal?: AbortSignal): Promise<FallbackIndex | null> {
  const {repo} = handle
  const tag = fallbackTag(subject)
  const fetched = await handle.getManifestIfPresent(tag, signal ? {signal} : {})
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
export async function updateFallbackIndex(handle: RegistryRepository, subject: Digest, descriptor: Descriptor, signal?: AbortSignal): Promise<'added' | 'present'> {
  const {repo} = handle
  const tag = fallbackTag(subject)
  for (let attempt = 1; attempt <= FALLBACK_WRITE_ATTEMPTS; attempt++) {
    const current = await readFallbackIndex(handle, subject, signal)
    if (current?.index.manifests.some((d) => d.digest === descriptor.digest)) return 'present'
    const base: Index = current?.index ?? {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}
    const next = {...base, mediaType: MediaType.OciIndex, manifests: [...base.manifests, descriptor]}
    const bytes = new TextEncoder().encode(JSON.stringify(next))
    const outcome = await handle.putManifest(tag, {bytes, mediaType: MediaType.OciIndex, digest: sha256Digest(bytes)}, {ifMatch: current?.etag ?? null, ...(signal ? {signal} : {})})
    if (outcome.kind === 'stored') return 'added'
  }
  throw new ReferrersError('FALLBACK_CONTENDED', `${repo.registry}/${repo.repository}:${tag} kept changing under us (${FALLBACK_WRITE_ATTEMPTS} attempts)`)
}

/** What putReferrer did: whether the registry indexed the subject itself, or we updated the fallback index. */
type ReferrerPush = {fallback: ReferrerRecord}

/**
 * PUTs a referrer manifest by digest, then makes it findable: when the answer lacks `OCI-Subject`, or the
 * registry has no referrers API (ECR sends the header without serving the API), the fallback index gets it.
 * The manifest's blobs must already be in `repo`.
 */
export async function putReferrer(handle: RepositoryHandle, manifest: FetchedManifest, signal?: AbortSignal): Promise<ReferrerPush> {
  subjectDigestOf(manifest)
  const outcome = await handle.putManifest(manifest.digest, manifest, signal ? {signal} : {})
  const indexed = outcome.kind === 'stored' && outcome.subject !== null
  return {fallback: await handle.recordReferrer(manifest, indexed, signal)}
}

/**
 * Makes an already-stored referrer findable at `repo`: nothing to do when the registry indexed it
 * (`indexedByRegistry`, i.e. it sent `OCI-Subject`) and serves the API; otherwise the fallback index gets it.
 */
export async function recordReferrer(handle: RegistryRepository, manifest: FetchedManifest, indexedByRegistry: boolean, signal?: AbortSignal): Promise<ReferrerRecord> {
  const subject = subjectDigestOf(manifest)
  if (indexedByRegistry && (await referrersApiSupported(handle, signal))) return 'not-needed'
  return updateFallbackIndex(handle, subject, referrerDescriptor(manifest), signal)
}

/** The subject of a referrer manifest as a digest; a manifest without one cannot be pushed as a referrer. */
export function subjectDigestOf(manifest: FetchedManifest): Digest {
  const subject = subjectOf(manifest)
  if (subject === null || !isDigest(subject)) throw new ReferrersError('NOT_A_REFERRER', `manifest ${manifest.digest} has no valid subject`)
  return subject
}

/**
 * One GET of the referrers API (first page at the standard path, later pages at the registry's `Link`).
 * null when the registry does not serve the API; otherwise the page's index and the next page's URL.
 */
async function referrersPage(handle: RegistryRepository, digest: Digest, url: string | null, signal?: AbortSignal): Promise<{index: Index; next: string | null} | null> {
  const {repo, connection} = handle
  const path = `/v2/${repo.repository}/referrers/${digest}`
  const response = await connection.send(repo, {
    method: 'GET',
    path,
    ...(url !== null ? {url} : {}),
    headers: {accept: MediaType.OciIndex},
    scopes: [pullScope(repo)],
    allowStatus: NO_API_STATUS,
    ...(signal ? {signal} : {}),
  })
  const contentType = baseMediaType(response.headers.get('content-type') ?? '')
  if (response.status !== 200 || contentType !== MediaType.OciIndex) {
    await response.body?.cancel()
    return null
  }
  // Bounded while reading, not after: a page without Content-Length must not be buffered whole first.
  const bytes = await readLimited(response, MAX_MANIFEST_BYTES, () => new RegistryError({method: 'GET', url: url ?? connection.baseUrl(repo) + path, status: 200, reason: `referrers page larger than ${MAX_MANIFEST_BYTES} bytes`}))
  const parsed = parseManifest(bytes, MediaType.OciIndex)
  if (parsed.kind !== 'index') return null
  return {index: parsed.index, next: nextLink(response.headers.get('link'), url ?? connection.baseUrl(repo) + path)}
}
