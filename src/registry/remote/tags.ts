/**
 * A repository's tag list (`GET /v2/<name>/tags/list`), read once per repository and client: cosign's legacy
 * tags (`sha256-<hex>.sig/.att/.sbom`) and the referrers fallback tag (`sha256-<hex>`) of every digest in the
 * repository are then known without one HEAD or GET per tag and digest. Listing is not a Docker Hub pull.
 *
 * Bounded: pages of TAGS_PAGE_SIZE, at most MAX_TAG_PAGES. A repository with more tags, or a registry that
 * refuses listing (403 to anonymous users on some registries), is `unlisted`: callers then ask per tag.
 */
import {readLimited} from '../../transport/body.ts'
import {RegistryError} from '../../transport/errors.ts'
import type {TagListing} from '../handle.ts'
import {pullScope, type RemoteRepository, tagsMemoKey} from './connection.ts'
import {nextLink} from './link.ts'

/** What we ask per page; ECR refuses n > 1000 (the figure go-containerregistry uses too). */
const TAGS_PAGE_SIZE = 1000
/**
 * 20 pages (20,000 tags at our page size, fewer where a registry answers less per page): beyond that, a HEAD
 * per tag asked about costs fewer requests than the listing.
 */
const MAX_TAG_PAGES = 20
/**
 * A tag rule cannot ask per tag instead, so it may read further: Docker Hub answers 100 tags a page, and a
 * repository such as bitnami/redis holds thousands. 500 pages is 50,000 tags there; each page is one request
 * and no pull.
 */
const RULE_MAX_TAG_PAGES = 500
/** A page of 1000 tags of up to 128 characters is ~150 KiB; anything far larger is not a tag list. */
const MAX_PAGE_BYTES = 1024 * 1024

/** The tags of the repository, listed once per client (a tag this client PUTs drops the memo, see manifests.ts). */
export function listTags(handle: RemoteRepository, signal?: AbortSignal): Promise<TagListing> {
  return handle.connection.memo(tagsMemoKey(handle.repo), () => readTags(handle, signal))
}

/** A tag rule needs every tag (it cannot ask per tag): the same listing and memo, read up to RULE_MAX_TAG_PAGES. */
export function listTagsForRule(handle: RemoteRepository, signal?: AbortSignal): Promise<TagListing> {
  return handle.connection.memo(tagsMemoKey(handle.repo), () => readTags(handle, signal, RULE_MAX_TAG_PAGES))
}

async function readTags(handle: RemoteRepository, signal?: AbortSignal, maxPages = MAX_TAG_PAGES): Promise<TagListing> {
  const {repo, connection} = handle
  const tags = new Set<string>()
  const first = `${connection.baseUrl(repo)}/v2/${repo.repository}/tags/list?n=${TAGS_PAGE_SIZE}`
  const seen = new Set<string>()
  let url: string | null = first
  for (let page = 0; url !== null && !seen.has(url); page++) {
    seen.add(url)
    const at: string = url
    if (page >= maxPages) return {kind: 'unlisted', reason: `more than ${maxPages} pages of tags`}
    const response: Response = await connection.send(repo, {
      method: 'GET',
      path: '',
      url: at,
      scopes: [pullScope(repo)],
      allowStatus: [401, 403, 404, 405],
      ...(signal ? {signal} : {}),
    })
    if (response.status === 404 && page === 0) {
      // NAME_UNKNOWN: the repository does not exist (yet), so it has no tags.
      await response.body?.cancel()
      return {kind: 'listed', tags}
    }
    if (!response.ok) {
      await response.body?.cancel()
      return {kind: 'unlisted', reason: `tags/list answered HTTP ${response.status}`}
    }
    const bytes = await readLimited(
      response,
      MAX_PAGE_BYTES,
      () => new RegistryError({method: 'GET', url: at, status: 200, reason: `tags/list page larger than ${MAX_PAGE_BYTES} bytes`}),
    )
    for (const tag of pageTags(bytes)) tags.add(tag)
    url = nextLink(response.headers.get('link'), at)
  }
  return {kind: 'listed', tags}
}

/** `{"name": …, "tags": [...]}`; a registry answers `"tags": null` for a repository without tags. */
function pageTags(bytes: Uint8Array): string[] {
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return []
  }
  const tags = (body as {tags?: unknown})?.tags
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : []
}
