/**
 * One repository of the in-memory store (memory-store.ts) as a RepositoryHandle. It answers as a registry with
 * the referrers API does (distribution-spec 1.1, and distribution 2.8 where that spec is silent), and throws what
 * the registry store throws for the same answer, so code above the handle cannot tell it from remote/:
 *   - absent manifest or blob: RegistryError 404 MANIFEST_UNKNOWN / BLOB_UNKNOWN (category `not-found`);
 *   - a manifest PUT whose blobs or child manifests the repository lacks: 400, one MANIFEST_BLOB_UNKNOWN each;
 *   - bytes that do not hash to the digest given: 400 DIGEST_INVALID (a blob, or a manifest PUT by digest), and
 *     nothing is stored; a blob of another length than declared: 400 SIZE_INVALID;
 *   - `If-None-Match: *` on a reference that exists, `If-Match` with another ETag: `precondition-failed`;
 *   - reads verify manifests against their digest (ContentError) but stream blobs as stored: like a registry's,
 *     the caller hashes them, and `size` is not looked at;
 *   - a mount from another repository of the same memory registry that holds the blob: `mounted`, nothing read;
 *   - referrers are the stored manifests whose `subject` is the digest, so a PUT is all it takes to be found.
 * Every call is logged (and offered to the fault hook) before it is served.
 */
import {parseManifest} from '../../src/oci/manifest.ts'
import {baseMediaType} from '../../src/oci/media-types.ts'
import {type Digest, digestAlgorithm, digestOf, isDigest} from '../../src/ref/digest.ts'
import {tagProblem} from '../../src/ref/reference.ts'
import {ContentError} from '../../src/registry/errors.ts'
import type {
  BlobSource,
  EtaggedManifest,
  FetchedManifest,
  ManifestBytes,
  ManifestHead,
  PutOptions,
  PutOutcome,
  ReferrerList,
  Repository,
  RepositoryHandle,
  StoreLocation,
  StoreOptions,
  TagListing,
} from '../../src/registry/handle.ts'
import {MAX_MANIFEST_BYTES} from '../../src/registry/handle.ts'
import {referrerDescriptor, subjectOf} from '../../src/registry/referrer-manifests.ts'
import {RegistryError} from '../../src/transport/errors.ts'

/** A method of the handle, as the log and the fault hook name it. */
export type HandleMethod = Exclude<keyof RepositoryHandle, 'location' | 'name'>

/** One call of a memory handle: which method, on which repository (`registry/repository`), about what. */
export interface MemoryCall {
  method: HandleMethod
  repository: string
  /** The tag or digest the call names; null for listTags. */
  reference: string | null
}

interface StoredManifest {
  bytes: Uint8Array
  mediaType: string
}

/** What one repository holds. Tests may change it directly: to seed content the API refuses, or to damage it. */
export interface RepositoryContents {
  manifests: Map<string, StoredManifest>
  tags: Map<string, Digest>
  blobs: Map<string, Uint8Array>
}

/** What a handle needs of its store: the contents of any repository of it, and the log with its fault hook. */
export interface MemoryBackend {
  contents(repo: Repository): RepositoryContents
  enter(call: MemoryCall): Promise<void>
}

export class MemoryRepository implements RepositoryHandle {
  readonly location: StoreLocation
  readonly name: string

  constructor(
    private readonly backend: MemoryBackend,
    readonly repo: Repository,
  ) {
    this.location = {kind: 'registry', registry: repo.registry, repository: repo.repository}
    this.name = `${repo.registry}/${repo.repository}`
  }

  private get contents(): RepositoryContents {
    return this.backend.contents(this.repo)
  }

  async headManifest(reference: string, _options?: StoreOptions): Promise<ManifestHead | null> {
    await this.enter('headManifest', reference)
    const found = this.lookup(reference)
    return found && {digest: found.digest, mediaType: found.mediaType, size: found.bytes.byteLength}
  }

  async getManifest(reference: string, _options?: StoreOptions): Promise<FetchedManifest> {
    await this.enter('getManifest', reference)
    const found = this.verified(reference)
    if (found === null) throw this.error('GET', `manifests/${reference}`, 404, 'MANIFEST_UNKNOWN', 'manifest unknown')
    return {...found, parsed: parseManifest(found.bytes, found.mediaType)}
  }

  /** `accept` narrows as distribution's negotiation does for OCI types: a type not accepted is absent. */
  async getManifestIfPresent(reference: string, options: StoreOptions & {accept?: string} = {}): Promise<EtaggedManifest | null> {
    await this.enter('getManifestIfPresent', reference)
    const found = this.verified(reference)
    if (found === null) return null
    if (options.accept !== undefined && !options.accept.split(',').map(baseMediaType).includes(found.mediaType)) return null
    return {...found, parsed: parseManifest(found.bytes, found.mediaType), etag: etagOf(found.digest)}
  }

  async getManifestBytesIfPresent(reference: string, _options?: StoreOptions): Promise<ManifestBytes | null> {
    await this.enter('getManifestBytesIfPresent', reference)
    return this.verified(reference)
  }

  async putManifest(reference: string, manifest: {bytes: Uint8Array; mediaType: string; digest: Digest}, options: PutOptions = {}): Promise<PutOutcome> {
    await this.enter('putManifest', reference)
    const path = `manifests/${reference}`
    if (!isDigest(reference) && tagProblem(reference) !== null) throw this.error('PUT', path, 400, 'TAG_INVALID', `invalid tag "${reference}"`)
    const current = this.lookup(reference)
    if (options.ifNoneMatch === '*' && current !== null) return {kind: 'precondition-failed'}
    if (options.ifMatch && (current === null || options.ifMatch !== etagOf(current.digest))) return {kind: 'precondition-failed'}
    const actual = digestOf(manifest.bytes, digestAlgorithm(manifest.digest))
    if (isDigest(reference) && (reference !== manifest.digest || actual !== manifest.digest)) {
      throw this.error('PUT', path, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content')
    }
    // A tag PUT of bytes that are not the digest given: a registry would store them under their own digest and the
    // registry store then refuses the answer; here nothing is stored at all.
    if (actual !== manifest.digest)
      throw new ContentError('DIGEST_MISMATCH', `${this.name}:${reference}: the manifest given as ${manifest.digest} hashes to ${actual}`)
    if (manifest.bytes.byteLength > MAX_MANIFEST_BYTES) throw this.error('PUT', path, 400, 'MANIFEST_INVALID', 'manifest too large')
    const mediaType = baseMediaType(manifest.mediaType)
    let parsed: FetchedManifest['parsed']
    try {
      parsed = parseManifest(manifest.bytes, mediaType)
    } catch {
      throw this.error('PUT', path, 400, 'MANIFEST_INVALID', `not a manifest of type ${mediaType}`)
    }
    const missing = referencesOf(parsed).filter((digest) => (parsed.kind === 'index' ? !this.contents.manifests.has(digest) : !this.contents.blobs.has(digest)))
    if (missing.length > 0) {
      throw new RegistryError({
        method: 'PUT',
        url: this.url(path),
        status: 400,
        diagnostics: missing.map((digest) => ({code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: digest})),
      })
    }
    this.contents.manifests.set(manifest.digest, {bytes: manifest.bytes.slice(), mediaType})
    if (!isDigest(reference)) this.contents.tags.set(reference, manifest.digest)
    // Indexed by subject on the PUT itself (see listReferrers), as a registry with the referrers API does.
    return {kind: 'stored', referrer: subjectOf({...manifest, mediaType, size: manifest.bytes.byteLength, parsed}) === null ? null : 'indexed'}
  }

  async headBlob(digest: Digest, _options?: StoreOptions): Promise<number | null> {
    await this.enter('headBlob', digest)
    return this.contents.blobs.get(digest)?.byteLength ?? null
  }

  async getBlob(digest: Digest, _options?: StoreOptions & {size?: number}): Promise<ReadableStream<Uint8Array>> {
    await this.enter('getBlob', digest)
    return new Blob([this.blob(digest)]).stream()
  }

  async getSmallBlob(digest: Digest, maxBytes: number, _options?: StoreOptions): Promise<Uint8Array> {
    await this.enter('getSmallBlob', digest)
    const bytes = this.blob(digest)
    if (bytes.byteLength > maxBytes) throw new ContentError('BLOB_TOO_LARGE', `blob ${digest} is larger than ${maxBytes} bytes`)
    const actual = digestOf(bytes, digestAlgorithm(digest))
    if (actual !== digest) throw new ContentError('DIGEST_MISMATCH', `blob ${this.name}@${digest} was served with bytes whose digest is ${actual}: refusing it`)
    return bytes.slice()
  }

  async putBlob(blob: BlobSource, options: StoreOptions & {mountFrom?: RepositoryHandle} = {}): Promise<'mounted' | 'uploaded'> {
    await this.enter('putBlob', blob.digest)
    const from = options.mountFrom
    if (
      from instanceof MemoryRepository &&
      from.backend === this.backend &&
      from.repo.registry === this.repo.registry &&
      from.repo.repository !== this.repo.repository
    ) {
      const held = this.backend.contents(from.repo).blobs.get(blob.digest)
      if (held) {
        this.contents.blobs.set(blob.digest, held)
        return 'mounted'
      }
    }
    const bytes = new Uint8Array(await new Response(await blob.open()).arrayBuffer())
    const path = `blobs/uploads/?digest=${blob.digest}`
    if (digestOf(bytes, digestAlgorithm(blob.digest)) !== blob.digest)
      throw this.error('PUT', path, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content')
    if (bytes.byteLength !== blob.size)
      throw this.error('PUT', path, 400, 'SIZE_INVALID', `provided length ${blob.size} did not match content length ${bytes.byteLength}`)
    this.contents.blobs.set(blob.digest, bytes)
    return 'uploaded'
  }

  async listTags(_options?: StoreOptions): Promise<TagListing> {
    await this.enter('listTags', null)
    return {kind: 'listed', tags: new Set(this.contents.tags.keys())}
  }

  /** The manifests stored here whose subject is `digest`, in digest order, as the referrers API lists them. */
  async listReferrers(digest: Digest, _options?: StoreOptions): Promise<ReferrerList> {
    await this.enter('listReferrers', digest)
    const descriptors = [...this.contents.manifests.entries()]
      .map(([stored, {bytes, mediaType}]) => ({digest: stored as Digest, mediaType, size: bytes.byteLength, bytes, parsed: parseManifest(bytes, mediaType)}))
      .filter((manifest) => subjectOf(manifest) === digest)
      .map(referrerDescriptor)
      .sort((a, b) => a.digest.localeCompare(b.digest))
    return {api: 'supported', descriptors}
  }

  private enter(method: HandleMethod, reference: string | null): Promise<void> {
    return this.backend.enter({method, repository: this.name, reference})
  }

  /** The manifest a tag or digest names, unverified; null when absent. */
  private lookup(reference: string): (StoredManifest & {digest: Digest}) | null {
    const digest = isDigest(reference) ? reference : this.contents.tags.get(reference)
    const stored = digest === undefined ? undefined : this.contents.manifests.get(digest)
    return stored && digest !== undefined ? {...stored, digest} : null
  }

  /** The manifest checked against its digest, as the registry store checks what it reads. */
  private verified(reference: string): ManifestBytes | null {
    const found = this.lookup(reference)
    if (found === null) return null
    const actual = digestOf(found.bytes, digestAlgorithm(found.digest))
    if (actual !== found.digest)
      throw new ContentError('DIGEST_MISMATCH', `manifest ${this.name}@${found.digest} was served with bytes whose digest is ${actual}: refusing it`)
    return {digest: found.digest, mediaType: found.mediaType, size: found.bytes.byteLength, bytes: found.bytes.slice()}
  }

  private blob(digest: Digest): Uint8Array {
    const bytes = this.contents.blobs.get(digest)
    if (!bytes) throw this.error('GET', `blobs/${digest}`, 404, 'BLOB_UNKNOWN', 'blob unknown to registry')
    return bytes
  }

  private url(path: string): string {
    return `memory://${this.repo.registry}/v2/${this.repo.repository}/${path}`
  }

  private error(method: string, path: string, status: number, code: string, message: string): RegistryError {
    return new RegistryError({method, url: this.url(path), status, diagnostics: [{code, message}]})
  }
}

/** A registry's ETag for a manifest: its digest, quoted. */
function etagOf(digest: Digest): string {
  return `"${digest}"`
}

/** What must be stored before a manifest: an index's children, an image's config and layers (not foreign ones). */
function referencesOf(parsed: FetchedManifest['parsed']): Digest[] {
  const descriptors = parsed.kind === 'index' ? parsed.index.manifests : [parsed.manifest.config, ...parsed.manifest.layers].filter((d) => !d.urls?.length)
  return descriptors.map((d) => d.digest as Digest)
}
