/**
 * A repository on a registry as a store handle: manifests through the client's verified reads and conditional
 * PUTs, blobs, tags and referrers through the distribution API (blobs.ts, tags.ts, referrers.ts), all sharing
 * the client's tokens and memos (the tag list per repository, referrers-API support per registry).
 */
import type {Digest} from '../ref/digest.ts'
import type {FetchedManifest, RegistryClient, RegistryConnection, Repository} from './client.ts'
import {readBlob} from './blob-read.ts'
import {headBlob, uploadBlob} from './blobs.ts'
import type {BlobSource, PutConditions, ReferrerRecord, RepositoryHandle, StoreLocation, TagExtent} from './handle.ts'
import {listReferrers, recordReferrer, type ReferrerList} from './referrers.ts'
import {listTags, listTagsForRule, type TagListing} from './tags.ts'

export class RegistryRepository implements RepositoryHandle {
  readonly location: StoreLocation
  readonly name: string

  constructor(
    private readonly client: RegistryClient,
    /** For blobs.ts, tags.ts and referrers.ts of this layer; not part of RepositoryHandle. */
    readonly connection: RegistryConnection,
    readonly repo: Repository,
  ) {
    this.location = {kind: 'registry', registry: repo.registry, repository: repo.repository}
    this.name = `${repo.registry}/${repo.repository}`
  }

  headManifest(reference: string, signal?: AbortSignal) {
    return this.client.headManifest(this.repo, reference, signal)
  }

  getManifest(reference: string, signal?: AbortSignal) {
    return this.client.getManifest(this.repo, reference, signal)
  }

  getManifestIfPresent(reference: string, options: {accept?: string; signal?: AbortSignal} = {}) {
    return this.client.getManifestIfPresent(this.repo, reference, options)
  }

  getManifestBytesIfPresent(reference: string, signal?: AbortSignal) {
    return this.client.getManifestBytesIfPresent(this.repo, reference, signal)
  }

  putManifest(reference: string, manifest: {bytes: Uint8Array; mediaType: string; digest: Digest}, conditions: PutConditions = {}) {
    return this.client.putManifestConditional(this.repo, reference, manifest, conditions)
  }

  headBlob(digest: Digest, signal?: AbortSignal): Promise<number | null> {
    return headBlob(this, digest, signal)
  }

  /** The blob's bytes; a read broken off by the network resumes where it stopped (blob-read.ts). */
  getBlob(digest: Digest, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return readBlob(this, digest, signal)
  }

  getSmallBlob(digest: Digest, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.client.getSmallBlob(this.repo, digest, maxBytes, signal)
  }

  putBlob(blob: BlobSource, options: {mountFrom?: RepositoryHandle; signal?: AbortSignal} = {}): Promise<'mounted' | 'uploaded'> {
    const from = options.mountFrom?.location
    const mountFrom = from?.kind === 'registry' && from.registry === this.repo.registry && from.repository !== this.repo.repository ? {registry: from.registry, repository: from.repository} : undefined
    return uploadBlob(this, blob, {...(mountFrom ? {mountFrom} : {}), ...(options.signal ? {signal: options.signal} : {})})
  }

  listTags(signal?: AbortSignal, extent: TagExtent = 'bounded'): Promise<TagListing> {
    return extent === 'all' ? listTagsForRule(this, signal) : listTags(this, signal)
  }

  listReferrers(digest: Digest, signal?: AbortSignal): Promise<ReferrerList> {
    return listReferrers(this, digest, signal)
  }

  recordReferrer(manifest: FetchedManifest, indexedByStore: boolean, signal?: AbortSignal): Promise<ReferrerRecord> {
    return recordReferrer(this, manifest, indexedByStore, signal)
  }
}
