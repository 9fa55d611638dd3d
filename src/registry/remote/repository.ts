/**
 * A repository on a registry as a store handle: manifests, blobs, tags and referrers through the distribution
 * API (manifests.ts, blobs.ts, blob-read.ts, uploads.ts, tags.ts, referrers.ts), all sharing the client's tokens and memos
 * (the tag list per repository, referrers-API support per registry) through its connection.
 */
import type {Digest} from '../../ref/digest.ts'
import type {BlobSource, FetchedManifest, PutConditions, ReferrerList, ReferrerRecord, Repository, RepositoryHandle, StoreLocation, TagExtent, TagListing} from '../handle.ts'
import {readBlob} from './blob-read.ts'
import {getSmallBlob, headBlob} from './blobs.ts'
import type {RegistryConnection, RemoteRepository} from './connection.ts'
import {getManifest, getManifestBytesIfPresent, getManifestIfPresent, headManifest, putManifest} from './manifests.ts'
import {listReferrers, recordReferrer} from './referrers.ts'
import {listTags, listTagsForRule} from './tags.ts'
import {uploadBlob} from './uploads.ts'

export class RegistryRepository implements RepositoryHandle, RemoteRepository {
  readonly location: StoreLocation
  readonly name: string

  constructor(
    /** For the functions of this layer that implement the handle; not part of RepositoryHandle. */
    readonly connection: RegistryConnection,
    readonly repo: Repository,
  ) {
    this.location = {kind: 'registry', registry: repo.registry, repository: repo.repository}
    this.name = `${repo.registry}/${repo.repository}`
  }

  headManifest(reference: string, signal?: AbortSignal) {
    return headManifest(this, reference, signal)
  }

  getManifest(reference: string, signal?: AbortSignal) {
    return getManifest(this, reference, signal)
  }

  getManifestIfPresent(reference: string, options: {accept?: string; signal?: AbortSignal} = {}) {
    return getManifestIfPresent(this, reference, options)
  }

  getManifestBytesIfPresent(reference: string, signal?: AbortSignal) {
    return getManifestBytesIfPresent(this, reference, signal)
  }

  putManifest(reference: string, manifest: {bytes: Uint8Array; mediaType: string; digest: Digest}, conditions: PutConditions = {}) {
    return putManifest(this, reference, manifest, conditions)
  }

  headBlob(digest: Digest, signal?: AbortSignal): Promise<number | null> {
    return headBlob(this, digest, signal)
  }

  /** The blob's bytes; a read broken off by the network resumes where it stopped (blob-read.ts). */
  getBlob(digest: Digest, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    return readBlob(this, digest, signal)
  }

  getSmallBlob(digest: Digest, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    return getSmallBlob(this, digest, maxBytes, signal)
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
