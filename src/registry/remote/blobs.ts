/**
 * Blob reads of the distribution API that need no stream: existence (HEAD) and a small blob read whole, bounded
 * and verified. Streamed reads, which resume where a connection broke, are in blob-read.ts.
 */
import {type Digest, digestAlgorithm, digestOf} from '../../ref/digest.ts'
import {readLimited} from '../../transport/body.ts'
import {ContentError} from '../errors.ts'
import {pullScope, pushScope, type RemoteRepository} from './connection.ts'

/**
 * Size of the blob when the repository has it, null when not, or when the registry will not say: ACR denies a
 * blob HEAD (403) to some tokens that may push it, so a refused look is "not known to be there" and the upload
 * (or mount) that follows is what the registry really judges.
 */
export async function headBlob(handle: RemoteRepository, digest: Digest, signal?: AbortSignal): Promise<number | null> {
  const {repo} = handle
  const response = await handle.connection.send(repo, {
    method: 'HEAD',
    path: `/v2/${repo.repository}/blobs/${digest}`,
    scopes: [pushScope(repo)],
    allowStatus: [403, 404],
    signal,
  })
  if (response.status === 404 || response.status === 403) return null
  return Number(response.headers.get('content-length') ?? -1)
}

/** GET a small blob (an image config) into memory and verify it. */
export async function getSmallBlob({repo, connection}: RemoteRepository, digest: Digest, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  const response = await connection.send(repo, {method: 'GET', path: `/v2/${repo.repository}/blobs/${digest}`, scopes: [pullScope(repo)], signal})
  const bytes = await readLimited(response, maxBytes, () => new ContentError('BLOB_TOO_LARGE', `blob ${digest} is larger than ${maxBytes} bytes`))
  const actual = digestOf(bytes, digestAlgorithm(digest))
  if (actual !== digest)
    throw new ContentError('DIGEST_MISMATCH', `blob ${repo.registry}/${repo.repository}@${digest} was served with bytes whose digest is ${actual}: refusing it`)
  return bytes
}
