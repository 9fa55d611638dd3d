/**
 * Registry operations by name (manifest HEAD/GET, small blob GET), over the transport. Every manifest we read is
 * hashed and must match the digest we asked for or the one the registry announced: a cache or proxy that
 * serves other bytes is caught here, before anything is planned or copied.
 */
import {MANIFEST_ACCEPT, baseMediaType} from '../oci/media-types.ts'
import {parseManifest, type ParsedManifest} from '../oci/manifest.ts'
import {type Digest, digestAlgorithm, digestOf, isDigest} from '../ref/digest.ts'
import {readLimited} from '../transport/body.ts'
import type {RetryPolicy} from '../transport/retry.ts'
import type {Endpoint, RateLimit, Transport, TransportRequest} from '../transport/transport.ts'
import {UploadModes} from './blob-chunks.ts'
import {ContentError} from './errors.ts'
import {KeptManifests} from './kept-manifests.ts'
import type {Stores} from './handle.ts'
import {RegistryRepository} from './registry-repository.ts'

/** A repository on a registry, the unit of authorization scopes. */
export interface Repository {
  registry: string
  repository: string
}

export interface ManifestHead {
  digest: Digest
  mediaType: string
  size: number
}

export interface ManifestBytes extends ManifestHead {
  bytes: Uint8Array
}

export interface FetchedManifest extends ManifestBytes {
  parsed: ParsedManifest
}

/** A manifest read for a read-modify-write: `etag` is what `If-Match` should carry (null: none was sent). */
export interface EtaggedManifest extends FetchedManifest {
  etag: string | null
}

/** What a manifest PUT did: stored (with the registry's `OCI-Subject`, if any), or refused by `If-Match`. */
export type PutOutcome = {kind: 'stored'; subject: string | null} | {kind: 'precondition-failed'}

/** distribution refuses manifests over 4 MiB; anything larger is not a manifest we should buffer. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/**
 * What the registry implementation (blobs.ts, tags.ts, referrers.ts, through RegistryRepository) needs of the
 * client: raw authenticated requests and per-client memos. Held by handles of this registry layer only, so
 * nothing above the registry layer can send a request past the handle interface.
 */
export interface RegistryConnection {
  send(repo: Repository, request: Omit<TransportRequest, 'endpoint'>): Promise<Response>
  baseUrl(repo: Repository): string
  memo<T>(key: string, make: () => Promise<T>): Promise<T>
  /** The transport's backoff, for retries of this layer (a resumed blob read, an upload chunk sent again). */
  readonly retry: RetryPolicy
  /** How blobs are uploaded to each registry this run: one PUT, or PATCH chunks (see blob-chunks.ts). */
  readonly uploads: UploadModes
  /** Whether a URL the registry gave (an upload session's Location) may be followed: http(s) only. */
  mayFollow(url: string): boolean
}

export interface RegistryClientOptions {
  /** --chunk-size: upload blobs in PATCH chunks of this many bytes, to every registry. */
  chunkSize?: number
}

export class RegistryClient implements Stores {
  /**
   * Answers that hold for this client's lifetime (a registry has no referrers API, a repository's tag list),
   * so a plan asks once per registry or repository instead of once per digest. Failures are not kept.
   */
  private readonly memos = new Map<string, Promise<unknown>>()
  /** Verified manifests by repository and digest: a one-shot run reads each once. */
  private readonly kept = new KeptManifests()

  constructor(
    private readonly transport: Transport,
    private readonly endpoint: (registry: string) => Endpoint,
    options: RegistryClientOptions = {},
  ) {
    this.connection = {
      send: (repo, request) => this.send(repo, request),
      baseUrl: (repo) => this.transport.baseUrlOf(this.endpoint(repo.registry)),
      memo: (key, make) => this.memo(key, make),
      retry: transport.retryPolicy,
      uploads: new UploadModes(options.chunkSize ?? null),
      mayFollow: (url) => transport.mayFollow(url),
    }
  }

  private readonly connection: RegistryConnection

  /** The handle of `repo` on this registry, sharing this client's tokens and memos. */
  repository(repo: Repository): RegistryRepository {
    return new RegistryRepository(this, this.connection, repo)
  }

  /** `make()` once per key for this client; a rejected answer is forgotten so the next caller asks again. */
  private memo<T>(key: string, make: () => Promise<T>): Promise<T> {
    let known = this.memos.get(key) as Promise<T> | undefined
    if (!known) {
      known = make()
      this.memos.set(key, known)
      known.catch(() => this.memos.get(key) === known && this.memos.delete(key))
    }
    return known
  }

  /** Drops a memo whose answer our own writes made stale (a tag list after a tag PUT). */
  private forget(key: string): void {
    this.memos.delete(key)
  }

  /** The rate-limit budget `registry` announced last (`ratelimit-*` headers), or null when it sent none. */
  rateLimit(registry: string): RateLimit | null {
    return this.transport.rateLimit(registry)
  }

  /** HEAD a manifest by tag or digest; null when absent. Falls back to GET when the registry omits the digest. */
  async headManifest(repo: Repository, reference: string, signal?: AbortSignal): Promise<ManifestHead | null> {
    const response = await this.requestManifest('HEAD', repo, reference, signal)
    if (response.status === 404) return null
    const contentType = response.headers.get('content-type')
    const digest = knownDigest(reference, response)
    if (digest === null || contentType === null) {
      // Some registries omit Docker-Content-Digest on HEAD; the bytes then tell us.
      const fetched = await this.getManifestIfPresent(repo, reference, signal ? {signal} : {})
      return fetched && {digest: fetched.digest, mediaType: fetched.mediaType, size: fetched.size}
    }
    return {digest, mediaType: baseMediaType(contentType), size: Number(response.headers.get('content-length') ?? 0)}
  }

  /** GET a manifest by tag or digest and verify its bytes. A missing manifest is a RegistryError (404). */
  async getManifest(repo: Repository, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const known = isDigest(reference) ? this.kept.get(repo, reference) : undefined
    if (known) return known
    const response = await this.requestManifest('GET', repo, reference, signal)
    return this.kept.keep(repo, await this.verifiedManifest(repo, reference, response))
  }

  /**
   * GET a manifest, or null when the registry says 404. Returns the ETag too, for read-modify-write of a tag
   * (the referrers fallback index, a cosign `.sig` tag) with `If-Match`. `accept` narrows what we ask for.
   */
  async getManifestIfPresent(repo: Repository, reference: string, options: {accept?: string; signal?: AbortSignal} = {}): Promise<EtaggedManifest | null> {
    const response = await this.requestManifest('GET', repo, reference, options.signal, [404], options.accept)
    if (response.status === 404) {
      await response.body?.cancel()
      return null
    }
    const manifest = this.kept.keep(repo, await this.verifiedManifest(repo, reference, response))
    return {...manifest, etag: response.headers.get('etag')}
  }

  /**
   * GET a manifest's bytes by tag or digest, verified against its digest but not parsed, or null when absent:
   * for a look at a tag that must not fail on content we do not read (another tool's manifest at the target).
   */
  async getManifestBytesIfPresent(repo: Repository, reference: string, signal?: AbortSignal): Promise<ManifestBytes | null> {
    const response = await this.requestManifest('GET', repo, reference, signal, [404])
    if (response.status === 404) {
      await response.body?.cancel()
      return null
    }
    return this.verifiedBytes(repo, reference, response)
  }

  private async verifiedManifest(repo: Repository, reference: string, response: Response): Promise<FetchedManifest> {
    const fetched = await this.verifiedBytes(repo, reference, response)
    return {...fetched, parsed: parseManifest(fetched.bytes, fetched.mediaType)}
  }

  private async verifiedBytes(repo: Repository, reference: string, response: Response): Promise<ManifestBytes> {
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES, () => new ContentError('MANIFEST_TOO_LARGE', `manifest ${repo.registry}/${repo.repository}:${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`))
    const announced = response.headers.get('docker-content-digest')
    const expected = knownDigest(reference, response)
    const digest = digestOf(bytes, expected ? digestAlgorithm(expected) : 'sha256')
    if (expected !== null && digest !== expected) {
      throw new ContentError('DIGEST_MISMATCH', `manifest ${repo.registry}/${repo.repository}@${expected} was served with bytes whose digest is ${digest}: refusing it`)
    }
    if (announced !== null && isDigest(announced) && announced !== digest) {
      throw new ContentError('DIGEST_MISMATCH', `manifest ${repo.registry}/${repo.repository}:${reference} announced ${announced} but its bytes hash to ${digest}: refusing it`)
    }
    return {digest, mediaType: baseMediaType(response.headers.get('content-type') ?? ''), size: bytes.byteLength, bytes}
  }

  /**
   * PUTs manifest bytes unchanged under a tag or digest. Bytes are sent as they were read, so digests survive;
   * a registry that answers with another digest has rewritten them, which is refused. `ifMatch` (read-modify-write
   * of a tag) and `ifNoneMatch: '*'` (create a tag, never overwrite one) make a 412 come back as
   * `precondition-failed` instead of an error, so the caller can re-read; registries that ignore the headers
   * (distribution 2.8) just store. The answer's `OCI-Subject` tells whether the registry indexed the manifest's
   * subject itself (distribution-spec 1.1).
   */
  async putManifestConditional(
    repo: Repository,
    reference: string,
    manifest: {bytes: Uint8Array; mediaType: string; digest: Digest},
    options: {ifMatch?: string | null; ifNoneMatch?: '*'; signal?: AbortSignal} = {},
  ): Promise<PutOutcome> {
    const conditional = Boolean(options.ifMatch) || options.ifNoneMatch !== undefined
    const response = await this.transport.request({
      endpoint: this.endpoint(repo.registry),
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
    await response.body?.cancel()
    if (!isDigest(reference)) this.forget(tagsMemoKey(repo))
    if (response.status === 412) return {kind: 'precondition-failed'}
    const stored = response.headers.get('docker-content-digest')
    if (stored !== null && isDigest(stored) && stored !== manifest.digest) {
      throw new ContentError('DIGEST_MISMATCH', `${repo.registry}/${repo.repository}:${reference} was stored as ${stored}, not ${manifest.digest}: the registry rewrote the manifest`)
    }
    return {kind: 'stored', subject: response.headers.get('oci-subject')}
  }

  /** A request about `repo`, authenticated for it; the building block of blobs.ts, tags.ts and referrers.ts. */
  private send(repo: Repository, request: Omit<TransportRequest, 'endpoint'>): Promise<Response> {
    return this.transport.request({...request, endpoint: this.endpoint(repo.registry)})
  }

  private requestManifest(method: 'HEAD' | 'GET', repo: Repository, reference: string, signal?: AbortSignal, allowStatus?: number[], accept = MANIFEST_ACCEPT): Promise<Response> {
    return this.transport.request({
      endpoint: this.endpoint(repo.registry),
      method,
      path: `/v2/${repo.repository}/manifests/${reference}`,
      headers: {accept},
      scopes: [pullScope(repo)],
      // Absent is an answer for HEAD ("not there yet"); for GET it is an error with the registry's words.
      allowStatus: allowStatus ?? (method === 'HEAD' ? [404] : []),
      signal,
    })
  }

  /** GET a small blob (an image config) into memory and verify it. */
  async getSmallBlob(repo: Repository, digest: Digest, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.transport.request({
      endpoint: this.endpoint(repo.registry),
      method: 'GET',
      path: `/v2/${repo.repository}/blobs/${digest}`,
      scopes: [pullScope(repo)],
      signal,
    })
    const bytes = await readLimited(response, maxBytes, () => new ContentError('BLOB_TOO_LARGE', `blob ${digest} is larger than ${maxBytes} bytes`))
    const actual = digestOf(bytes, digestAlgorithm(digest))
    if (actual !== digest) throw new ContentError('DIGEST_MISMATCH', `blob ${repo.registry}/${repo.repository}@${digest} was served with bytes whose digest is ${actual}: refusing it`)
    return bytes
  }
}

/** The memo key of `repo`'s tag list (tags.ts), here so that a tag PUT can drop it. */
export function tagsMemoKey(repo: Repository): string {
  return `tags ${repo.registry}/${repo.repository}`
}

export function pullScope(repo: Repository): string {
  return `repository:${repo.repository}:pull`
}

export function pushScope(repo: Repository): string {
  return `repository:${repo.repository}:pull,push`
}

/** The digest a manifest must have: the one asked for, else the one the registry announced, else unknown. */
function knownDigest(reference: string, response: Response): Digest | null {
  if (isDigest(reference)) return reference
  const announced = response.headers.get('docker-content-digest')
  return announced !== null && isDigest(announced) ? announced : null
}
