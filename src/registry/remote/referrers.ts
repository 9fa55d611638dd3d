/**
 * OCI 1.1 referrers: the manifests whose `subject` is a given digest (sigstore bundles, SBOMs, cosign
 * "oci-1-1" signatures). Registries either answer `GET /v2/<name>/referrers/<digest>` with an OCI index, or
 * they do not know the API at all (distribution 2.8 answers a plain-text router 404), and then clients keep a
 * fallback index under the tag `sha256-<hex>` themselves (distribution-spec §Referrers Tag Schema; see
 * fallback-index.ts).
 *
 * Like go-containerregistry we treat anything but a 200 OCI index as "no API" and read the fallback tag. Unlike
 * it, an API that answers does not end the search: Quay serves the API but may answer a stale (empty) list
 * while the referrers sit in the fallback tag (quay/quay#6510; clients keep that tag there because Quay sends
 * no `OCI-Subject`), so the fallback tag is read too and merged in (see `alsoInFallbackTag`).
 */
import {type Descriptor, type Index, parseManifest} from '../../oci/manifest.ts'
import {MediaType, baseMediaType} from '../../oci/media-types.ts'
import type {Digest} from '../../ref/digest.ts'
import {readLimited} from '../../transport/body.ts'
import {RegistryError} from '../../transport/errors.ts'
import {MAX_MANIFEST_BYTES, type ManifestToPut, type PutOptions, type PutOutcome, type ReferrerList, type Repository} from '../handle.ts'
import {MAX_REFERRERS, parsedForPut, ReferrersError, referrerDescriptor, subjectDigestOf, subjectOf} from '../referrer-manifests.ts'
import {pullScope, type RemoteRepository} from './connection.ts'
import {fallbackTag, readFallbackIndex, updateFallbackIndex} from './fallback-index.ts'
import {nextLink} from './link.ts'
import {headManifest, putManifest} from './manifests.ts'
import {listTags} from './tags.ts'

/** Pages of one referrers listing we follow; a registry that links further is looping or hostile. */
const MAX_REFERRER_PAGES = 64
/** The digest the API ping asks about: nothing refers to it, so a supporting registry answers an empty index. */
const ZERO_DIGEST: Digest = `sha256:${'0'.repeat(64)}`

/**
 * Statuses that mean "this registry has no referrers API": a router 404 (distribution 2.8), or a proxy that
 * refuses the path. Auth failures and server errors stay errors, since the fallback tag would fail the same way.
 */
const NO_API_STATUS = [400, 404, 405, 406, 415, 501]

/**
 * Lists the referrers of `digest` in `repo`: from the API when the registry has it (every page, bounded),
 * otherwise from the fallback tag (absent = no referrers). Whether the registry has the API is asked once per
 * registry and client. Descriptors are returned as listed; callers must fetch each manifest before trusting its
 * type, because fallback indexes written by older cosign lack it. More than MAX_REFERRERS is refused: every one
 * is fetched next, so an unbounded list is unbounded memory and requests.
 */
export async function listReferrers(handle: RemoteRepository, digest: Digest, signal?: AbortSignal): Promise<ReferrerList> {
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
      throw new RegistryError({
        method: 'GET',
        url: url ?? `${handle.connection.baseUrl(repo)}/v2/${repo.repository}/referrers/${digest}`,
        status: 200,
        reason: 'a referrers page is not an OCI index',
      })
    }
    descriptors.push(...capped(repo, digest, answer.index.manifests, descriptors.length))
    if (answer.next === null || seen.has(answer.next)) break
    seen.add(answer.next)
    url = answer.next
  }
  const listed = new Set(descriptors.map((d) => d.digest))
  const extra = (await alsoInFallbackTag(handle, digest, descriptors, signal)).filter((d) => !listed.has(d.digest))
  return {api: 'supported', descriptors: [...descriptors, ...capped(repo, digest, extra, descriptors.length)]}
}

/**
 * The fallback tag's entries next to an API's answer. An empty answer may be Quay's stale cache, so the tag is
 * asked for as on a registry without the API (tag list, else a HEAD). A non-empty answer is checked against the
 * tag list only when it costs nothing more: signature discovery reads that list anyway (legacy tags, memo), and
 * a registry that refuses to list gets no HEAD per digest for a listing that already answered.
 */
async function alsoInFallbackTag(handle: RemoteRepository, digest: Digest, answered: Descriptor[], signal?: AbortSignal): Promise<Descriptor[]> {
  if (answered.length === 0) return fallbackDescriptors(handle, digest, signal)
  const listing = await listTags(handle, signal)
  if (listing.kind !== 'listed' || !listing.tags.has(fallbackTag(digest))) return []
  return fallbackDescriptors(handle, digest, signal)
}

/** `more` when they keep the listing within MAX_REFERRERS (`already` listed before them); else the refusal. */
function capped(repo: Repository, digest: Digest, more: Descriptor[], already = 0): Descriptor[] {
  if (already + more.length > MAX_REFERRERS) {
    throw new ReferrersError(
      'TOO_MANY_REFERRERS',
      `${repo.registry}/${repo.repository}: ${digest} has more than ${MAX_REFERRERS} referrers, the most image-syncer reads for one digest`,
    )
  }
  return more
}

/**
 * The entries of the fallback index for reading. A non-index under the tag (cosign copy pushes image manifests
 * there) lists nothing: "accept an index only", as go-containerregistry does.
 */
async function fallbackDescriptors(handle: RemoteRepository, digest: Digest, signal?: AbortSignal): Promise<Descriptor[]> {
  // The repository's tag list, read once, says whether the tag exists: no GET per digest for an absent one.
  // Unlisted, a HEAD (free on Docker Hub) asks instead, so that the GET is spent only on a tag that exists.
  const listing = await listTags(handle, signal)
  const present = listing.kind === 'listed' ? listing.tags.has(fallbackTag(digest)) : (await headManifest(handle, fallbackTag(digest), signal)) !== null
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
export function referrersApiSupported(handle: RemoteRepository, signal?: AbortSignal): Promise<boolean> {
  return handle.connection.memo(`referrers-api ${handle.repo.registry}`, () => referrersPage(handle, ZERO_DIGEST, null, signal).then((page) => page !== null))
}

/**
 * PUTs a manifest, and makes one with a `subject` findable as its referrer, as oras-go's push does: nothing more
 * when the registry indexed it (answered `OCI-Subject`) and serves the API; otherwise (no header, or no API: ECR
 * sends the header without serving it) the fallback index gets it, as distribution-spec asks of clients. A
 * subject that is no digest is refused before anything is written: it could have no fallback tag.
 */
export async function putManifestRecordingSubject(
  handle: RemoteRepository,
  reference: string,
  manifest: ManifestToPut,
  options: PutOptions = {},
): Promise<PutOutcome> {
  const fetched = parsedForPut(manifest)
  const subject = subjectOf(fetched) === null ? null : subjectDigestOf(fetched)
  const answer = await putManifest(handle, reference, manifest, options)
  if (answer.kind !== 'stored') return answer
  if (subject === null) return {kind: 'stored', referrer: null}
  if (answer.ociSubject !== null && (await referrersApiSupported(handle, options.signal))) return {kind: 'stored', referrer: 'indexed'}
  return {kind: 'stored', referrer: await updateFallbackIndex(handle, subject, referrerDescriptor(fetched), options.signal)}
}

/**
 * One GET of the referrers API (first page at the standard path, later pages at the registry's `Link`).
 * null when the registry does not serve the API; otherwise the page's index and the next page's URL.
 */
async function referrersPage(
  handle: RemoteRepository,
  digest: Digest,
  url: string | null,
  signal?: AbortSignal,
): Promise<{index: Index; next: string | null} | null> {
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
  const bytes = await readLimited(
    response,
    MAX_MANIFEST_BYTES,
    () =>
      new RegistryError({
        method: 'GET',
        url: url ?? connection.baseUrl(repo) + path,
        status: 200,
        reason: `referrers page larger than ${MAX_MANIFEST_BYTES} bytes`,
      }),
  )
  const parsed = parseManifest(bytes, MediaType.OciIndex)
  if (parsed.kind !== 'index') return null
  return {index: parsed.index, next: nextLink(response.headers.get('link'), url ?? connection.baseUrl(repo) + path)}
}
