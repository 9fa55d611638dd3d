/**
 * The OCI 1.1 referrers API of the fake registry (`referrers: 'api'`): `GET /v2/<name>/referrers/<digest>`
 * answers an OCI index of every manifest in the repository whose `subject.digest` is `<digest>`, each described
 * as distribution-spec §Listing Referrers says (artifactType = the manifest's artifactType, else its config's
 * media type; the manifest's annotations). `?artifactType=` filters and is acknowledged with
 * `OCI-Filters-Applied`. An unknown repository or digest gives an empty index, never 404 (a supporting registry
 * must not answer 404). With `referrersPageSize`, pages are linked with `Link: <…>; rel="next"`.
 *
 * The listing is computed from the stored manifests, so a referrer seeded with `registry.putManifest` shows up too,
 * and one deleted disappears, as on a registry that indexes subjects on push.
 */
import {MediaType} from '../../../src/oci/media-types.ts'
import {isDigest} from '../../../src/ref/digest.ts'
import type {HandlerContext} from './context.ts'
import {ociError} from './errors.ts'
import type {StoredManifest} from './storage.ts'

interface ReferrerJson {
  artifactType?: unknown
  config?: {mediaType?: unknown}
  subject?: {digest?: unknown}
  annotations?: unknown
}

export function listReferrers(ctx: HandlerContext, digest: string): Response {
  if (!isDigest(digest)) return ociError(400, 'DIGEST_INVALID', `invalid digest "${digest}"`)
  const filter = ctx.url.searchParams.get('artifactType')
  const stored = [...(ctx.storage.repository(ctx.name)?.manifests.values() ?? [])]
  let descriptors = stored
    .map((manifest) => describe(manifest, digest))
    .filter((d): d is NonNullable<typeof d> => d !== null)
    .sort((a, b) => a.digest.localeCompare(b.digest))
  if (filter !== null) descriptors = descriptors.filter((d) => d.artifactType === filter)

  const headers = new Headers({'Content-Type': MediaType.OciIndex})
  if (filter !== null) headers.set('OCI-Filters-Applied', 'artifactType')
  const size = ctx.options.referrersPageSize
  if (size !== null && size > 0) {
    const page = Number(ctx.url.searchParams.get('page') ?? '0')
    const total = descriptors.length
    descriptors = descriptors.slice(page * size, (page + 1) * size)
    if ((page + 1) * size < total) {
      const next = new URLSearchParams(ctx.url.searchParams)
      next.set('page', String(page + 1))
      headers.set('Link', `<${ctx.url.pathname}?${next.toString()}>; rel="next"`)
    }
  }
  const body = {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: descriptors}
  return new Response(JSON.stringify(body), {headers})
}

/** The descriptor of `manifest` in a referrers list of `subject`, or null when it does not refer to it. */
function describe(manifest: StoredManifest, subject: string) {
  let json: ReferrerJson
  try {
    json = JSON.parse(new TextDecoder().decode(manifest.bytes)) as ReferrerJson
  } catch {
    return null
  }
  if (json.subject?.digest !== subject) return null
  const artifactType =
    typeof json.artifactType === 'string' ? json.artifactType : typeof json.config?.mediaType === 'string' ? json.config.mediaType : undefined
  const annotations = json.annotations && typeof json.annotations === 'object' ? (json.annotations as Record<string, string>) : undefined
  return {
    mediaType: manifest.mediaType.split(';')[0]!.trim(),
    digest: manifest.digest,
    size: manifest.bytes.length,
    ...(artifactType !== undefined ? {artifactType} : {}),
    ...(annotations !== undefined ? {annotations} : {}),
  }
}
