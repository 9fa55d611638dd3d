/**
 * Blob operations of the distribution API: existence, streamed reads, cross-repository mounts and uploads.
 * Uploads are one POST and one streamed monolithic PUT (2 requests per blob); bytes are never buffered whole.
 */
import type {Digest} from '../ref/digest.ts'
import {RegistryError} from '../transport/errors.ts'
import {pullScope, pushScope, type RegistryClient, type Repository} from './client.ts'

/** Size of the blob when `repo` has it, null when not. */
export async function headBlob(client: RegistryClient, repo: Repository, digest: Digest, signal?: AbortSignal): Promise<number | null> {
  const response = await client.send(repo, {method: 'HEAD', path: `/v2/${repo.repository}/blobs/${digest}`, scopes: [pushScope(repo)], allowStatus: [404], signal})
  if (response.status === 404) return null
  return Number(response.headers.get('content-length') ?? -1)
}

/** Starts reading a blob; the caller consumes (or cancels) `response.body`. Redirects to storage are followed. */
export function getBlob(client: RegistryClient, repo: Repository, digest: Digest, signal?: AbortSignal): Promise<Response> {
  return client.send(repo, {method: 'GET', path: `/v2/${repo.repository}/blobs/${digest}`, scopes: [pullScope(repo)], signal})
}

/** What starting an upload gave: the blob already mounted from another repository, or a session to PUT to. */
export type UploadStart = {kind: 'mounted'} | {kind: 'session'; location: string}

/**
 * POSTs an upload, asking for a mount from `mountFrom` when given. 201 = mounted; 202 = the registry would not
 * mount (or no mount was asked) and opened an ordinary upload session instead.
 */
export async function startUpload(client: RegistryClient, repo: Repository, options: {mount?: {digest: Digest; from: Repository}; signal?: AbortSignal}): Promise<UploadStart> {
  const query = options.mount ? `?mount=${encodeURIComponent(options.mount.digest)}&from=${encodeURIComponent(options.mount.from.repository)}` : ''
  const scopes = [pushScope(repo), ...(options.mount ? [pullScope(options.mount.from)] : [])]
  const response = await client.send(repo, {method: 'POST', path: `/v2/${repo.repository}/blobs/uploads/${query}`, scopes, signal: options.signal})
  await response.body?.cancel()
  if (response.status === 201 && options.mount) return {kind: 'mounted'}
  const location = response.headers.get('location')
  if (response.status !== 202 || !location) {
    throw new RegistryError({method: 'POST', url: `${client.baseUrl(repo)}/v2/${repo.repository}/blobs/uploads/`, status: response.status, reason: `expected 202 with a Location, got ${response.status}${location ? '' : ' without Location'}`})
  }
  return {kind: 'session', location: new URL(location, `${client.baseUrl(repo)}/`).toString()}
}

/**
 * Completes an upload session with one PUT carrying the whole blob as a stream, with its length announced
 * (registries backed by object stores refuse chunked uploads). Not retried here: a stream cannot be sent twice.
 */
export async function finishUpload(client: RegistryClient, repo: Repository, location: string, blob: {digest: Digest; size: number; body: ReadableStream<Uint8Array>}, signal?: AbortSignal): Promise<void> {
  const url = new URL(location)
  url.searchParams.set('digest', blob.digest)
  const response = await client.send(repo, {
    method: 'PUT',
    path: url.pathname,
    url: url.toString(),
    headers: {'content-type': 'application/octet-stream', 'content-length': String(blob.size)},
    body: () => blob.body,
    scopes: [pushScope(repo)],
    retry: false,
    signal,
  })
  await response.body?.cancel()
}

/** Abandons an upload session, best effort: a registry expires forgotten sessions anyway. */
export async function cancelUpload(client: RegistryClient, repo: Repository, location: string): Promise<void> {
  try {
    const response = await client.send(repo, {method: 'DELETE', path: new URL(location).pathname, url: location, scopes: [pushScope(repo)], allowStatus: [404, 405], retry: false})
    await response.body?.cancel()
  } catch {
    // Nothing to do: the session times out on the registry's side.
  }
}
