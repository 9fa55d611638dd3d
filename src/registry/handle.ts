/**
 * One repository in a store, whatever the store is: a repository on a registry (remote/repository.ts) or an OCI
 * image layout directory (layout/repository.ts). This file owns every type of the store interface, and imports
 * no implementation of it. Everything above the registry layer (plan, apply, signatures) reads and
 * writes through this, so copying, discovery and verification are written once for both, in the spirit of
 * oras-go's `Repository` and regclient's `scheme` with its `reg` and `ocidir` implementations.
 *
 * Reads are verified in both (manifest bytes against their digest, blobs while streaming); writes never store
 * bytes that do not hash to the digest given.
 */

import type {Descriptor, ParsedManifest} from '../oci/manifest.ts'
import type {Digest} from '../ref/digest.ts'
import type {RateLimit} from '../transport/transport.ts'

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

/**
 * How a stored manifest's `subject` was made findable, as part of its put: the store indexed it itself (a
 * registry that answered `OCI-Subject` and serves the referrers API, a layout), or the fallback index
 * (`sha256-<hex>`) got the manifest now or listed it already.
 */
export type ReferrerRecord = 'indexed' | 'added' | 'present'

/** What a manifest put did: stored (`referrer` null for a manifest without `subject`), or refused by a condition. */
export type PutOutcome = {kind: 'stored'; referrer: ReferrerRecord | null} | {kind: 'precondition-failed'}

/** Manifest bytes to store; `parsed`, when the caller has them parsed, spares the store parsing them again. */
export interface ManifestToPut {
  bytes: Uint8Array
  mediaType: string
  digest: Digest
  parsed?: ParsedManifest
}

/** distribution refuses manifests over 4 MiB; anything larger is not a manifest we should buffer. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** A repository's tags, or why they were not listed (callers then ask per tag). */
export type TagListing = {kind: 'listed'; tags: ReadonlySet<string>} | {kind: 'unlisted'; reason: string}

export interface ReferrerList {
  /** Whether the registry answered the referrers API; `unsupported` means the list came from the fallback tag. */
  api: 'supported' | 'unsupported'
  descriptors: Descriptor[]
}

/** Where a handle's content lives; a mount is possible only between two repositories of one registry. */
export type StoreLocation = {kind: 'registry'; registry: string; repository: string} | {kind: 'layout'; root: string}

/** A blob to place: its bytes are opened only when they must move (a mount or a present blob reads nothing). */
export interface BlobSource {
  digest: Digest
  size: number
  open: () => Promise<ReadableStream<Uint8Array>>
}

/** What every handle method takes last: the run's cancellation, plus what the method itself is told. */
export interface StoreOptions {
  signal?: AbortSignal
}

/**
 * Conditions of a manifest PUT, as distribution-spec writes them: `ifNoneMatch: '*'` creates a tag and never
 * overwrites one, `ifMatch` replaces only what was read. A refused condition is `precondition-failed`.
 */
export interface PutOptions extends StoreOptions {
  ifMatch?: string | null
  ifNoneMatch?: '*'
}

/** How much of a tag listing is worth reading: see `RepositoryHandle.listTags`. */
export type TagExtent = 'bounded' | 'all'

export interface RepositoryHandle {
  readonly location: StoreLocation
  /** `host/repository` or the layout directory, for messages. */
  readonly name: string
  headManifest(reference: string, options?: StoreOptions): Promise<ManifestHead | null>
  /** Verified bytes, parsed; absent is an error. */
  getManifest(reference: string, options?: StoreOptions): Promise<FetchedManifest>
  /** Verified and parsed, or null when absent; `etag` for a later `ifMatch`; `accept` narrows what is asked for. */
  getManifestIfPresent(reference: string, options?: StoreOptions & {accept?: string}): Promise<EtaggedManifest | null>
  /** Verified but not parsed (content we must not fail on, e.g. another tool's manifest at a target tag). */
  getManifestBytesIfPresent(reference: string, options?: StoreOptions): Promise<ManifestBytes | null>
  /**
   * Stores manifest bytes unchanged under a tag or their digest. A manifest with a `subject` is made findable
   * as its referrer in the same call, as oras-go's push does: a registry that did not index it (no
   * `OCI-Subject`, or no referrers API) gets a fallback-index entry, as distribution-spec asks of clients.
   */
  putManifest(reference: string, manifest: ManifestToPut, options?: PutOptions): Promise<PutOutcome>
  /** Size of the blob when present, null when not. */
  headBlob(digest: Digest, options?: StoreOptions): Promise<number | null>
  /**
   * The blob's bytes as a stream; the caller verifies them (hash and length) as they pass. `size`, the
   * descriptor's, lets a store refuse a blob of another size before streaming it (a layout checks its file).
   */
  getBlob(digest: Digest, options?: StoreOptions & {size?: number}): Promise<ReadableStream<Uint8Array>>
  /** A small blob (a config, a signature payload) read whole, bounded and verified. */
  getSmallBlob(digest: Digest, maxBytes: number, options?: StoreOptions): Promise<Uint8Array>
  /**
   * Stores a blob from `blob.open()`. `mountFrom` is a hint: a registry mounts from another repository of its
   * own (then nothing is read), a layout hard-links from another layout after hashing the file there; a hint
   * that cannot be used is a copy. Not retried here: a stream cannot be sent twice.
   */
  putBlob(blob: BlobSource, options?: StoreOptions & {mountFrom?: RepositoryHandle}): Promise<'mounted' | 'uploaded'>
  /**
   * The repository's tags. `bounded` (signature discovery) may answer `unlisted` past a page limit, since asking
   * per tag is then cheaper; `all` (a tag rule, which cannot ask per tag) reads much further.
   */
  listTags(options?: StoreOptions & {extent?: TagExtent}): Promise<TagListing>
  /** The referrers of `digest`: the registry's API or its fallback index, a layout's manifests by `subject`. */
  listReferrers(digest: Digest, options?: StoreOptions): Promise<ReferrerList>
}

/** The stores of one command run: every repository the plan names resolves to a handle here. */
export interface Stores {
  repository(repo: Repository): RepositoryHandle
  /** The rate-limit budget a registry announced last; null for layouts and registries that send none. */
  rateLimit(registry: string): RateLimit | null
}
