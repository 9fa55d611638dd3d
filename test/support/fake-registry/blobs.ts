/**
 * Blob and upload endpoints of the fake registry: HEAD/GET/DELETE of blobs, and the upload protocol
 * (POST to start, with `?mount=&from=` for a cross-repository mount or `?digest=` for a monolithic upload;
 * PATCH chunks; PUT `?digest=` to finish; GET status; DELETE to cancel). Digests are verified on completion,
 * which is the check that catches a client sending the wrong bytes.
 *
 * One deliberate difference from distribution 2.8: a monolithic `POST ?digest=` with a body completes here with
 * 201, as the spec allows; 2.8 ignores the body and answers 202. Clients must handle both.
 */
import {digestAlgorithm, digestOf, isDigest} from '../../../src/ref/digest.ts'
import type {HandlerContext} from './context.ts'
import {ociError} from './errors.ts'
import type {UploadSession} from './storage.ts'

/** HEAD/GET of a blob; a GET with `Range: bytes=START-[END]` gets that part (206), as distribution serves it. */
export function getBlob(ctx: HandlerContext, digest: string): Response {
  const bytes = ctx.storage.getBlob(ctx.name, digest)
  if (!bytes) return ociError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', digest)
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(bytes.length),
    'Docker-Content-Digest': digest,
    'Accept-Ranges': 'bytes',
  }
  const range = ctx.request.headers.get('range')
  if (ctx.request.method === 'HEAD' || range === null) return new Response(ctx.request.method === 'HEAD' ? null : bytes, {headers})
  const match = /^bytes=(\d+)-(\d*)$/.exec(range.trim())
  const start = Number(match?.[1] ?? NaN)
  const end = Math.min(match?.[2] ? Number(match[2]) : Infinity, bytes.length - 1)
  if (!match || start > end) return new Response(null, {status: 416, headers: {'Content-Range': `bytes */${bytes.length}`}})
  const part = {'Content-Length': String(end - start + 1), 'Content-Range': `bytes ${start}-${end}/${bytes.length}`}
  return new Response(bytes.subarray(start, end + 1), {status: 206, headers: {...headers, ...part}})
}

export function deleteBlob(ctx: HandlerContext, digest: string): Response {
  if (ctx.storage.deleteBlob(ctx.name, digest)) return new Response(null, {status: 202})
  return ociError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', digest)
}

/** `POST /v2/<name>/blobs/uploads/`. */
export async function startUpload(ctx: HandlerContext): Promise<Response> {
  const params = ctx.url.searchParams
  const mount = params.get('mount')
  const from = params.get('from')
  if (mount !== null && from !== null && isDigest(mount)) {
    // Like distribution: a mount the caller may not read from silently becomes an ordinary upload.
    const readable = ctx.auth.allows(ctx.request, {resource: `repository:${from}`, actions: ['pull']})
    if (readable && ctx.storage.mountBlob(ctx.name, from, mount)) return blobCreated(ctx, mount)
  }
  const digest = params.get('digest')
  if (digest !== null && mount === null) {
    const bytes = new Uint8Array(await ctx.request.arrayBuffer())
    const problem = verify(digest, bytes)
    if (problem) return problem
    ctx.storage.putBlob(ctx.name, bytes)
    return blobCreated(ctx, digest)
  }
  return uploadAccepted(ctx, ctx.storage.startUpload(ctx.name), 202)
}

/** `PATCH <location>`: appends a chunk. A Content-Range that does not continue the upload gets 416. */
export async function patchUpload(ctx: HandlerContext, id: string): Promise<Response> {
  const session = ctx.storage.upload(ctx.name, id)
  if (!session) return uploadUnknown(id)
  const bytes = new Uint8Array(await ctx.request.arrayBuffer())
  const range = /^(\d+)-(\d+)$/.exec(ctx.request.headers.get('content-range') ?? '')
  if (range && Number(range[1]) !== session.size) {
    const message = `chunk starts at ${range[1]}, upload is at ${session.size}`
    const headers = {Range: rangeOf(session), Location: uploadLocation(ctx, session)}
    return ociError(416, 'BLOB_UPLOAD_INVALID', message, undefined, headers)
  }
  ctx.storage.appendUpload(session, bytes)
  return uploadAccepted(ctx, session, 202)
}

/** `PUT <location>?digest=`: appends the optional last chunk, verifies the digest, stores the blob. */
export async function finishUpload(ctx: HandlerContext, id: string): Promise<Response> {
  const session = ctx.storage.upload(ctx.name, id)
  if (!session) return uploadUnknown(id)
  const digest = ctx.url.searchParams.get('digest')
  if (digest === null) return ociError(400, 'DIGEST_INVALID', 'digest parameter missing')
  ctx.storage.appendUpload(session, new Uint8Array(await ctx.request.arrayBuffer()))
  const bytes = ctx.storage.uploadContent(session)
  const problem = verify(digest, bytes)
  if (problem) return problem
  ctx.storage.putBlob(ctx.name, bytes)
  ctx.storage.uploads.delete(session.id)
  return blobCreated(ctx, digest)
}

/** `GET <location>`: upload progress. */
export function uploadStatus(ctx: HandlerContext, id: string): Response {
  const session = ctx.storage.upload(ctx.name, id)
  if (!session) return uploadUnknown(id)
  return uploadAccepted(ctx, session, 204)
}

/** `DELETE <location>`: cancels an upload, as a client does after a refused mount it no longer needs. */
export function cancelUpload(ctx: HandlerContext, id: string): Response {
  const session = ctx.storage.upload(ctx.name, id)
  if (!session) return uploadUnknown(id)
  ctx.storage.uploads.delete(session.id)
  return new Response(null, {status: 204})
}

function verify(digest: string, bytes: Uint8Array): Response | null {
  if (!isDigest(digest)) return ociError(400, 'DIGEST_INVALID', `invalid digest "${digest}"`)
  if (digestOf(bytes, digestAlgorithm(digest)) === digest) return null
  return ociError(400, 'DIGEST_INVALID', 'provided digest did not match uploaded content', {Digest: digest})
}

function blobCreated(ctx: HandlerContext, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: {Location: ctx.location(`/v2/${ctx.name}/blobs/${digest}`), 'Docker-Content-Digest': digest},
  })
}

function uploadAccepted(ctx: HandlerContext, session: UploadSession, status: number): Response {
  return new Response(null, {
    status,
    headers: {
      Location: uploadLocation(ctx, session),
      Range: rangeOf(session),
      'Docker-Upload-UUID': session.id,
    },
  })
}

function uploadLocation(ctx: HandlerContext, session: UploadSession): string {
  return ctx.location(`/v2/${session.repo}/blobs/uploads/${session.id}`)
}

/** Inclusive byte range received so far; distribution says `0-0` for an empty upload too. */
function rangeOf(session: UploadSession): string {
  return `0-${Math.max(0, session.size - 1)}`
}

function uploadUnknown(id: string): Response {
  return ociError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', {uuid: id})
}
