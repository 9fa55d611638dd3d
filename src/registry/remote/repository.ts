/**
 * A repository on a registry as a store handle: manifests, blobs, tags and referrers through the distribution
 * API (manifests.ts, blobs.ts, blob-read.ts, uploads.ts, tags.ts, referrers.ts), all sharing the client's tokens and memos
 * (the tag list per repository, referrers-API support per registry) through its connection.
 */
import type {Digest} from '../../ref/digest.ts'
import type {
  BlobSource,
  ManifestToPut,
  PutOptions,
  PutOutcome,
  ReferrerList,
  Repository,
  RepositoryHandle,
  StoreLocation,
  StoreOptions,
  TagExtent,
  TagListing,
} from '../handle.ts'
import {readBlob} from './blob-read.ts'
import {getSmallBlob, headBlob} from './blobs.ts'
import type {RegistryConnection, RemoteRepository} from './connection.ts'
import {getManifest, getManifestBytesIfPresent, getManifestIfPresent, headManifest} from './manifests.ts'
import {listReferrers, putManifestRecordingSubject} from './referrers.ts'
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

  headManifest(reference: string, options: StoreOptions = {}) {
    return headManifest(this, reference, options.signal)
  }

  getManifest(reference: string, options: StoreOptions = {}) {
    return getManifest(this, reference, options.signal)
  }

  getManifestIfPresent(reference: string, options: StoreOptions & {accept?: string} = {}) {
    return getManifestIfPresent(this, reference, options)
  }

  getManifestBytesIfPresent(reference: string, options: StoreOptions = {}) {
    return getManifestBytesIfPresent(this, reference, options.signal)
  }

  /** The PUT, then the fallback index when the registry did not index the manifest's subject (referrers.ts). */
  putManifest(reference: string, manifest: ManifestToPut, options: PutOptions = {}): Promise<PutOutcome> {
    return putManifestRecordingSubject(this, reference, manifest, options)
  }

  headBlob(digest: Digest, options: StoreOptions = {}): Promise<number | null> {
    return headBlob(this, digest, options.signal)
  }

  /** The blob's bytes; a read broken off by the network resumes where it stopped (blob-read.ts). */
  getBlob(digest: Digest, options: StoreOptions = {}): Promise<ReadableStream<Uint8Array>> {
    return readBlob(this, digest, options.signal)
  }

  getSmallBlob(digest: Digest, maxBytes: number, options: StoreOptions = {}): Promise<Uint8Array> {
    return getSmallBlob(this, digest, maxBytes, options.signal)
  }

  putBlob(blob: BlobSource, options: StoreOptions & {mountFrom?: RepositoryHandle} = {}): Promise<'mounted' | 'uploaded'> {
    const from = options.mountFrom?.location
    const mountFrom =
      from?.kind === 'registry' && from.registry === this.repo.registry && from.repository !== this.repo.repository
        ? {registry: from.registry, repository: from.repository}
        : undefined
    return uploadBlob(this, blob, {...(mountFrom ? {mountFrom} : {}), ...(options.signal ? {signal: options.signal} : {})})
  }

  listTags(options: StoreOptions & {extent?: TagExtent} = {}): Promise<TagListing> {
    return options.extent === 'all' ? listTagsForRule(this, options.signal) : listTags(this, options.signal)
  }

  listReferrers(digest: Digest, options: StoreOptions = {}): Promise<ReferrerList> {
    return listReferrers(this, digest, options.signal)
  }
}
