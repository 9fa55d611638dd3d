/**
 * Blob uploads of the distribution API: cross-repository mounts and upload sessions (existence and small reads
 * are in blobs.ts, reads that resume in blob-read.ts). An upload is one POST (sent with the source GET) and one
 * streamed monolithic PUT (2 requests per blob), or, with --chunk-size or for a registry that refused a monolithic PUT with 413, PATCH
 * chunks (upload-chunks.ts); bytes are never buffered whole.
 */
import type {Digest} from '../../ref/digest.ts'
import {RegistryError} from '../../transport/errors.ts'
import type {BlobSource, Repository} from '../handle.ts'
import {pullScope, pushScope, type RemoteRepository} from './connection.ts'
import {completeUpload, sessionUrl, uploadInChunks} from './upload-chunks.ts'

/**
 * Places a blob: a mount from `mountFrom` (same registry) when asked, else (or when the registry would not
 * mount) an upload session fed from `blob.open()`. A registry that errors on the mount request itself gets a
 * plain upload instead (as ggcr does); a 202 to a mount is an ordinary session and serves for the upload.
 * A monolithic PUT refused with 413 (the registry, or a proxy in front of it, limits request bodies) or with
 * 404 BLOB_UNKNOWN (Artifactory wants PATCHes) is done again at once in chunks, from a fresh read of the source,
 * and so is every later upload to that registry.
 */
export async function uploadBlob(
  handle: RemoteRepository,
  blob: BlobSource,
  options: {mountFrom?: Repository; signal?: AbortSignal},
): Promise<'mounted' | 'uploaded'> {
  const {signal, mountFrom} = options
  let start: UploadStart | null = null
  if (mountFrom) {
    start = await startUpload(handle, {mount: {digest: blob.digest, from: mountFrom}, ...(signal ? {signal} : {})}).catch((err: unknown) => {
      if (signal?.aborted) throw err
      return null
    })
    if (start?.kind === 'mounted') return 'mounted'
  }
  // Without a mount to try, the source GET and the POST need nothing of each other: asked at once, they cost one
  // round trip instead of two. A POST that fails lets go of the source's answer unread.
  let opening: Promise<ReadableStream<Uint8Array>> | null = null
  if (!start) {
    opening = blob.open()
    opening.catch(() => {})
    start = await startUpload(handle, signal ? {signal} : {}).catch(async (err: unknown) => {
      await opening?.then((body) => body.cancel()).catch(() => {})
      throw err
    })
  }
  if (start.kind !== 'session') throw new Error('unreachable: an upload without mount cannot be mounted')
  const {uploads} = handle.connection
  const chunkSize = uploads.chunkSizeFor(handle.repo.registry)
  try {
    const body = await (opening ?? blob.open())
    if (chunkSize !== null) await uploadInChunks(handle, start.location, {digest: blob.digest, body}, chunkSize, signal)
    else await completeUpload(handle, start.location, blob.digest, {size: blob.size, body}, signal)
  } catch (err) {
    await cancelUpload(handle, start.location)
    if (!refusedMonolithic(err)) throw err
    if (chunkSize !== null) {
      if (err.status !== 413) throw err
      throw new RegistryError({
        method: err.method,
        url: err.url,
        status: 413,
        reason: `a chunk of ${chunkSize} bytes was refused as too large (HTTP 413): upload with a smaller --chunk-size`,
      })
    }
    uploads.noteRefusedMonolithic(handle.repo.registry)
    return uploadBlob(handle, blob, signal ? {signal} : {})
  }
  return 'uploaded'
}

/**
 * The registry would not take the blob in the PUT that completes a session: 413 (it, or a proxy in front of it,
 * limits request bodies), or 404 BLOB_UNKNOWN, Artifactory's answer to bytes that did not come in PATCHes
 * (docker/buildx#196: "The latter `PUT` results in a 404 BLOB_UNKNOWN on Artifactory"). Both are done in chunks.
 */
function refusedMonolithic(err: unknown): err is RegistryError {
  return err instanceof RegistryError && (err.status === 413 || (err.status === 404 && err.hasCode('BLOB_UNKNOWN')))
}

/** What starting an upload gave: the blob already mounted from another repository, or a session to PUT to. */
type UploadStart = {kind: 'mounted'} | {kind: 'session'; location: string}

/**
 * POSTs an upload, asking for a mount from `mountFrom` when given. 201 = mounted; 202 = the registry would not
 * mount (or no mount was asked) and opened an ordinary upload session instead.
 */
async function startUpload(handle: RemoteRepository, options: {mount?: {digest: Digest; from: Repository}; signal?: AbortSignal}): Promise<UploadStart> {
  const {repo, connection} = handle
  const query = options.mount ? `?mount=${encodeURIComponent(options.mount.digest)}&from=${encodeURIComponent(options.mount.from.repository)}` : ''
  const scopes = [pushScope(repo), ...(options.mount ? [pullScope(options.mount.from)] : [])]
  const response = await connection.send(repo, {method: 'POST', path: `/v2/${repo.repository}/blobs/uploads/${query}`, scopes, signal: options.signal})
  await response.body?.cancel()
  if (response.status === 201 && options.mount) return {kind: 'mounted'}
  const location = response.headers.get('location')
  const url = `${connection.baseUrl(repo)}/v2/${repo.repository}/blobs/uploads/`
  if (response.status !== 202 || !location) {
    throw new RegistryError({
      method: 'POST',
      url,
      status: response.status,
      reason: `expected 202 with a Location, got ${response.status}${location ? '' : ' without Location'}`,
    })
  }
  return {kind: 'session', location: sessionUrl(handle, location, {method: 'POST', url, status: 202})}
}

/** Abandons an upload session, best effort: a registry expires forgotten sessions anyway. */
async function cancelUpload(handle: RemoteRepository, location: string): Promise<void> {
  try {
    const response = await handle.connection.send(handle.repo, {
      method: 'DELETE',
      path: new URL(location).pathname,
      url: location,
      scopes: [pushScope(handle.repo)],
      allowStatus: [404, 405],
      retry: false,
    })
    await response.body?.cancel()
  } catch {
    // Nothing to do: the session times out on the registry's side.
  }
}
