/**
 * Manifest and tag endpoints of the fake registry. Where distribution 2.8 (our real test registry) has an
 * observable opinion, the fake copies it, so a test that passes against the fake does not fail on the real one:
 *   - PUT needs a Content-Type that is a known manifest type and agrees with the manifest's own `mediaType`
 *     field (MANIFEST_INVALID otherwise);
 *   - PUT refuses manifests whose blobs or child manifests the repository lacks (MANIFEST_BLOB_UNKNOWN,
 *     one error per missing digest);
 *   - GET/HEAD honour Accept (`strictAccept`): an OCI manifest or index is 404 MANIFEST_UNKNOWN unless accepted;
 *     a Docker manifest list asked for with only the Docker v2 type gets its linux/amd64 child instead (a
 *     different digest!); a Docker v2 manifest not accepted is 400 MANIFEST_INVALID (schema 1 is off);
 *   - GET/HEAD send `ETag: "<digest>"`.
 * Beyond 2.8 (which ignores If-Match, measured): a PUT with `If-Match` whose value is not the current ETag of
 * the reference (or `*` when the reference is absent) is refused with 412, so read-modify-write races can be
 * tested. Likewise `If-None-Match: *` on a reference that exists is refused with 412 (create-only tag writes).
 * With `referrers: 'api'`, a PUT of a manifest with a `subject` answers `OCI-Subject: <digest>`.
 */
import {INDEX_MEDIA_TYPES, MediaType, baseMediaType} from '../../../src/oci/media-types.ts'
import {digestAlgorithm, digestOf, isDigest} from '../../../src/ref/digest.ts'
import {type ErrorEntry, ociError, ociErrors} from './errors.ts'
import type {HandlerContext} from './context.ts'
import type {StoredManifest} from './storage.ts'

const PUSHABLE: readonly string[] = [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList]

interface Descriptor {
  digest?: unknown
  platform?: {os?: unknown; architecture?: unknown}
}

interface ManifestJson {
  schemaVersion?: unknown
  mediaType?: unknown
  subject?: Descriptor
  config?: Descriptor
  layers?: Descriptor[]
  manifests?: Descriptor[]
}

export function getManifest(ctx: HandlerContext, reference: string): Response {
  const stored = ctx.storage.getManifest(ctx.name, reference)
  if (!stored) return manifestUnknown(reference)
  const chosen = ctx.options.strictAccept ? negotiate(ctx, stored) : stored
  if (chosen instanceof Response) return chosen
  const headers = {
    'Content-Type': chosen.mediaType,
    'Content-Length': String(chosen.bytes.length),
    'Docker-Content-Digest': chosen.digest,
    ETag: `"${chosen.digest}"`,
  }
  // For HEAD the body must be null: Bun then sends our Content-Length as is.
  return new Response(ctx.request.method === 'HEAD' ? null : chosen.bytes, {headers})
}

export async function putManifest(ctx: HandlerContext, reference: string): Promise<Response> {
  const bytes = new Uint8Array(await ctx.request.arrayBuffer())
  const failed = preconditionFailed(ctx, reference) ?? alreadyExists(ctx, reference)
  if (failed) return failed
  const contentType = ctx.request.headers.get('content-type')
  const mediaType = contentType === null ? '' : baseMediaType(contentType)
  if (!PUSHABLE.includes(mediaType)) {
    return ociError(400, 'MANIFEST_INVALID', `unsupported manifest media type "${contentType ?? ''}"`)
  }
  let manifest: ManifestJson
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes)) as ManifestJson
  } catch {
    return ociError(400, 'MANIFEST_INVALID', 'manifest is not JSON')
  }
  if (manifest.schemaVersion !== 2) return ociError(400, 'MANIFEST_INVALID', 'schemaVersion must be 2')
  if (manifest.mediaType !== undefined && manifest.mediaType !== mediaType) {
    return ociError(400, 'MANIFEST_INVALID', `mediaType "${String(manifest.mediaType)}" does not match Content-Type`)
  }
  if (isDigest(reference) && digestOf(bytes, digestAlgorithm(reference)) !== reference) {
    return ociError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', {Digest: reference})
  }
  const missing = missingReferences(ctx, manifest, mediaType)
  if (missing.length > 0) return ociErrors(400, missing)

  const digest = ctx.storage.putManifest(ctx.name, reference, bytes, contentType ?? mediaType)
  const headers: Record<string, string> = {Location: ctx.location(`/v2/${ctx.name}/manifests/${digest}`), 'Docker-Content-Digest': digest}
  const subject = manifest.subject?.digest
  if (ctx.options.referrers === 'api' && typeof subject === 'string' && isDigest(subject)) headers['OCI-Subject'] = subject
  return new Response(null, {status: 201, headers})
}

/**
 * `If-Match` against the reference's current ETag (`"<digest>"`; a weak `W/` prefix is ignored, `*` means "exists").
 * Several comma-separated tags may be given, as RFC 9110 allows. Null when the PUT may proceed.
 */
function preconditionFailed(ctx: HandlerContext, reference: string): Response | null {
  const header = ctx.request.headers.get('if-match')
  if (header === null) return null
  const current = ctx.storage.getManifest(ctx.name, reference)
  const wanted = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''))
  const ok = current !== undefined && (wanted.includes('*') || wanted.includes(`"${current.digest}"`))
  return ok ? null : ociError(412, 'PRECONDITION_FAILED', `If-Match ${header} does not match ${current ? `"${current.digest}"` : 'an absent manifest'}`)
}

/** `If-None-Match: *` (RFC 9110): the PUT may only create the reference. Null when it may proceed. */
function alreadyExists(ctx: HandlerContext, reference: string): Response | null {
  const header = ctx.request.headers.get('if-none-match')
  if (header?.trim() !== '*') return null
  const current = ctx.storage.getManifest(ctx.name, reference)
  return current ? ociError(412, 'PRECONDITION_FAILED', `If-None-Match: * but ${reference} holds "${current.digest}"`) : null
}

export function deleteManifest(ctx: HandlerContext, reference: string): Response {
  if (!ctx.storage.deleteManifest(ctx.name, reference)) return manifestUnknown(reference)
  return new Response(null, {status: 202})
}

/** `GET /v2/<name>/tags/list[?n=&last=]`, paginated with a Link header as the spec describes. */
export function listTags(ctx: HandlerContext): Response {
  const all = ctx.storage.tags(ctx.name)
  if (!all) return ociError(404, 'NAME_UNKNOWN', 'repository name not known to registry', {name: ctx.name})
  const last = ctx.url.searchParams.get('last')
  const asked = ctx.url.searchParams.get('n')
  const cap = ctx.options.tagsPageSize
  const n = cap === null ? asked : String(Math.min(cap, asked === null ? cap : Number(asked)))
  let tags = last === null ? all : all.filter((tag) => tag > last)
  const headers = new Headers()
  if (n !== null && Number(n) >= 0 && tags.length > Number(n)) {
    tags = tags.slice(0, Number(n))
    const next = `/v2/${ctx.name}/tags/list?n=${n}&last=${encodeURIComponent(tags.at(-1) ?? '')}`
    headers.set('Link', `<${next}>; rel="next"`)
  }
  return Response.json({name: ctx.name, tags}, {headers})
}

function manifestUnknown(reference: string): Response {
  const detail = isDigest(reference) ? {Digest: reference} : {Tag: reference}
  return ociError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', detail)
}

/** Every Accept header, split on commas, without parameters. */
function accepted(request: Request): string[] {
  return (request.headers.get('accept') ?? '')
    .split(',')
    .map((value) => baseMediaType(value))
    .filter(Boolean)
}

function negotiate(ctx: HandlerContext, stored: StoredManifest): StoredManifest | Response {
  const accept = accepted(ctx.request)
  const type = baseMediaType(stored.mediaType)
  if (accept.includes(type)) return stored
  switch (type) {
    case MediaType.OciIndex:
      return ociError(404, 'MANIFEST_UNKNOWN', 'OCI index found, but accept header does not support OCI indexes')
    case MediaType.OciManifest:
      return ociError(404, 'MANIFEST_UNKNOWN', 'OCI manifest found, but accept header does not support OCI manifests')
    case MediaType.DockerManifest:
      return ociError(400, 'MANIFEST_INVALID', 'manifest invalid (schema 1 conversion is disabled)')
    case MediaType.DockerManifestList: {
      const child = accept.includes(MediaType.DockerManifest) ? amd64Child(ctx, stored) : undefined
      if (child && baseMediaType(child.mediaType) === MediaType.DockerManifest) return child
      return ociError(400, 'MANIFEST_INVALID', 'manifest invalid (schema 1 conversion is disabled)')
    }
    default:
      return stored
  }
}

/** What distribution serves for a manifest list to a client that only understands image manifests. */
function amd64Child(ctx: HandlerContext, list: StoredManifest): StoredManifest | undefined {
  const parsed = JSON.parse(new TextDecoder().decode(list.bytes)) as ManifestJson
  const entry = parsed.manifests?.find((descriptor) => descriptor.platform?.os === 'linux' && descriptor.platform.architecture === 'amd64')
  return typeof entry?.digest === 'string' ? ctx.storage.getManifest(ctx.name, entry.digest) : undefined
}

function missingReferences(ctx: HandlerContext, manifest: ManifestJson, mediaType: string): ErrorEntry[] {
  const isIndex = INDEX_MEDIA_TYPES.includes(mediaType)
  const descriptors = isIndex ? (manifest.manifests ?? []) : [manifest.config ?? {}, ...(manifest.layers ?? [])]
  const errors: ErrorEntry[] = []
  for (const descriptor of descriptors) {
    const digest = descriptor.digest
    if (typeof digest !== 'string' || !isDigest(digest)) {
      errors.push({code: 'MANIFEST_INVALID', message: 'descriptor without a valid digest'})
      continue
    }
    const present = isIndex ? ctx.storage.getManifest(ctx.name, digest) : ctx.storage.getBlob(ctx.name, digest)
    if (!present) errors.push({code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: digest})
  }
  return errors
}
