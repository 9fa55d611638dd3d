/**
 * Manifest operations of the distribution API (HEAD, GET, conditional PUT) over a connection. Every manifest we
 * read is hashed and must match the digest we asked for or the one the registry announced: a cache or proxy that
 * serves other bytes is caught here, before anything is planned or copied.
 */
import {parseManifest} from '../../oci/manifest.ts'
import {MANIFEST_ACCEPT, baseMediaType} from '../../oci/media-types.ts'
import {type Digest, digestAlgorithm, digestOf, isDigest} from '../../ref/digest.ts'
import {readLimited} from '../../transport/body.ts'
import {RegistryError} from '../../transport/errors.ts'
import {ContentError} from '../errors.ts'
import {type EtaggedManifest, type FetchedManifest, MAX_MANIFEST_BYTES, type ManifestBytes, type ManifestHead, type PutOptions} from '../handle.ts'
import {pullScope, pushScope, type RemoteRepository, tagsMemoKey} from './connection.ts'

/** HEAD a manifest by tag or digest; null when absent. Falls back to GET when the registry omits the digest. */
export async function headManifest(remote: RemoteRepository, reference: string, signal?: AbortSignal): Promise<ManifestHead | null> {
  const response = await requestManifest(remote, 'HEAD', reference, signal)
  if (response.status === 404) return null
  const contentType = response.headers.get('content-type')
  const digest = knownDigest(reference, response)
  if (digest === null || contentType === null) {
    // Some registries omit Docker-Content-Digest on HEAD; the bytes then tell us.
    const fetched = await getManifestIfPresent(remote, reference, signal ? {signal} : {})
    return fetched && {digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.size}
  }
  return {digest, mediaType: baseMediaType(contentType), size: Number(response.headers.get('content-length') ?? 0)}
}

/** GET a manifest by tag or digest and verify its bytes. A missing manifest is a RegistryError (404). */
export async function getManifest(remote: RemoteRepository, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
  const {kept} = remote.connection
  const known = isDigest(reference) ? kept.get(remote.repo, reference) : undefined
  if (known) return known
  const response = await requestManifest(remote, 'GET', reference, signal)
  return kept.keep(remote.repo, await verifiedManifest(remote, reference, response))
}

/**
 * GET a manifest, or null when the registry says 404. Returns the ETag too, for read-modify-write of a tag
 * (the referrers fallback index, a cosign `.sig` tag) with `If-Match`. `accept` narrows what we ask for.
 */
export async function getManifestIfPresent(
  remote: RemoteRepository,
  reference: string,
  options: {accept?: string; signal?: AbortSignal} = {},
): Promise<EtaggedManifest | null> {
  const response = await requestManifest(remote, 'GET', reference, options.signal, [404], options.accept)
  if (response.status === 404) {
    await response.body?.cancel()
    return null
  }
  const manifest = remote.connection.kept.keep(remote.repo, await verifiedManifest(remote, reference, response))
  return {...manifest, etag: response.headers.get('etag')}
}

/**
 * GET a manifest's bytes by tag or digest, verified against its digest but not parsed, or null when absent:
 * for a look at a tag that must not fail on content we do not read (another tool's manifest at the target).
 */
export async function getManifestBytesIfPresent(remote: RemoteRepository, reference: string, signal?: AbortSignal): Promise<ManifestBytes | null> {
  const response = await requestManifest(remote, 'GET', reference, signal, [404])
  if (response.status === 404) {
    await response.body?.cancel()
    return null
  }
  return verifiedBytes(remote, reference, response)
}

/** What the registry answered a manifest PUT: stored, with its `OCI-Subject` header (null: none), or 412. */
export type PutAnswer = {kind: 'stored'; ociSubject: string | null} | {kind: 'precondition-failed'}

/**
 * PUTs manifest bytes unchanged under a tag or digest, and nothing else (referrers.ts
 * putManifestRecordingSubject records a subject). Bytes are sent as they were read, so digests survive;
 * a registry that answers with another digest has rewritten them, which is refused. `ifMatch` (read-modify-write
 * of a tag) and `ifNoneMatch: '*'` (create a tag, never overwrite one) make a 412 come back as
 * `precondition-failed` instead of an error, so the caller can re-read; registries that ignore the headers
 * (distribution 2.8) just store. The answer's `OCI-Subject` tells whether the registry indexed the manifest's
 * subject itself (distribution-spec 1.1).
 */
export async function putManifest(
  remote: RemoteRepository,
  reference: string,
  manifest: {bytes: Uint8Array; mediaType: string; digest: Digest},
  options: PutOptions = {},
): Promise<PutAnswer> {
  const {repo, connection} = remote
  const conditional = Boolean(options.ifMatch) || options.ifNoneMatch !== undefined
  const response = await connection.send(repo, {
    method: 'PUT',
    path: `/v2/${repo.repository}/manifests/${reference}`,
    headers: {
      'content-type': manifest.mediaType,
      ...(options.ifMatch ? {'if-match': options.ifMatch} : {}),
      ...(options.ifNoneMatch ? {'if-none-match': options.ifNoneMatch} : {}),
    },
    body: () => manifest.bytes,
    scopes: [pushScope(repo)],
    allowStatus: conditional ? [412] : [],
    signal: options.signal,
  })
  if (!isDigest(reference)) connection.forget(tagsMemoKey(repo))
  if (response.status === 412) {
    // Harbor refuses a write over an immutable tag with 412 and an OCI error `DENIED`
    // (goharbor/harbor#9427): a refusal to report, not a changed tag to re-read and try again.
    const refusal = await RegistryError.fromResponse('PUT', `${connection.baseUrl(repo)}/v2/${repo.repository}/manifests/${reference}`, response)
    if (refusal.hasCode('DENIED')) throw refusal
    return {kind: 'precondition-failed'}
  }
  await response.body?.cancel()
  const stored = response.headers.get('docker-content-digest')
  if (stored !== null && isDigest(stored) && stored !== manifest.digest) {
    throw new ContentError(
      'DIGEST_MISMATCH',
      `${repo.registry}/${repo.repository}:${reference} was stored as ${stored}, not ${manifest.digest}: the registry rewrote the manifest`,
    )
  }
  return {kind: 'stored', ociSubject: response.headers.get('oci-subject')}
}

async function verifiedManifest(remote: RemoteRepository, reference: string, response: Response): Promise<FetchedManifest> {
  const fetched = await verifiedBytes(remote, reference, response)
  return {...fetched, parsed: parseManifest(fetched.bytes, fetched.mediaType)}
}

async function verifiedBytes({repo}: RemoteRepository, reference: string, response: Response): Promise<ManifestBytes> {
  const bytes = await readLimited(
    response,
    MAX_MANIFEST_BYTES,
    () => new ContentError('MANIFEST_TOO_LARGE', `manifest ${repo.registry}/${repo.repository}:${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`),
  )
  const announced = response.headers.get('docker-content-digest')
  const expected = knownDigest(reference, response)
  const digest = digestOf(bytes, expected ? digestAlgorithm(expected) : 'sha256')
  if (expected !== null && digest !== expected) {
    throw new ContentError(
      'DIGEST_MISMATCH',
      `manifest ${repo.registry}/${repo.repository}@${expected} was served with bytes whose digest is ${digest}: refusing it`,
    )
  }
  if (announced !== null && isDigest(announced) && announced !== digest) {
    throw new ContentError(
      'DIGEST_MISMATCH',
      `manifest ${repo.registry}/${repo.repository}:${reference} announced ${announced} but its bytes hash to ${digest}: refusing it`,
    )
  }
  return {digest, mediaType: baseMediaType(response.headers.get('content-type') ?? ''), size: bytes.byteLength, bytes}
}

function requestManifest(
  {repo, connection}: RemoteRepository,
  method: 'HEAD' | 'GET',
  reference: string,
  signal?: AbortSignal,
  allowStatus?: number[],
  accept = MANIFEST_ACCEPT,
): Promise<Response> {
  return connection.send(repo, {
    method,
    path: `/v2/${repo.repository}/manifests/${reference}`,
    headers: {accept},
    scopes: [pullScope(repo)],
    // Absent is an answer for HEAD ("not there yet"); for GET it is an error with the registry's words.
    allowStatus: allowStatus ?? (method === 'HEAD' ? [404] : []),
    signal,
  })
}

/** The digest a manifest must have: the one asked for, else the one the registry announced, else unknown. */
function knownDigest(reference: string, response: Response): Digest | null {
  if (isDigest(reference)) return reference
  const announced = response.headers.get('docker-content-digest')
  return announced !== null && isDigest(announced) ? announced : null
}
