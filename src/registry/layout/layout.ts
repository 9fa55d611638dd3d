/**
 * One repository stored as an OCI image layout directory (image-spec image-layout.md, v1.1): `oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`. Tags are `org.opencontainers.image.ref.name` annotations on index.json
 * entries; referrers are found through the `subject` of the manifests index.json lists (the spec's referrers
 * fallback), so every referrer put here also gets an untagged index.json entry.
 *
 * The methods are the store's (headManifest, getManifest, putManifest, blob head/get/put, tags, referrers)
 * without the repository argument, because a layout is one repository; repository.ts wraps them as a
 * RepositoryHandle. Every manifest read is hashed and checked, and a tag that already names other content is
 * never moved. Opening (and creating) a layout is open.ts.
 */
import {type Descriptor, type Index, ManifestError, parseManifest} from '../../oci/manifest.ts'
import {baseMediaType, isImageManifest, isIndex} from '../../oci/media-types.ts'
import {type Digest, digestAlgorithm, digestOf, isDigest} from '../../ref/digest.ts'
import {tagProblem} from '../../ref/reference.ts'
import type {Pace} from '../../transport/retry.ts'
import {type FetchedManifest, type ManifestHead, MAX_MANIFEST_BYTES} from '../handle.ts'
import {LayoutError} from '../layout-errors.ts'
import {referrerDescriptor, subjectOf} from '../referrer-manifests.ts'
import {type BlobPut, type BlobStream, headBlob, linkBlob, openBlob, putBlob, readBlob} from './blobs.ts'
import {blobPath} from './files.ts'
import {indexPath, readIndex, tagOf} from './index-file.ts'
import {addUntagged, childrenOf, detectMediaType, setTag, type TagPut} from './manifests.ts'

export type {BlobPut, BlobStream, TagPut}

/** What putManifest did: stored by digest, or what happened to the tag (see TagPut). */
export type ManifestPut = {kind: 'stored'} | TagPut

export class OciLayout {
  /** Manifests are content-addressed, so what we learned about one (its subject) never goes stale. */
  private readonly referrerInfo = new Map<Digest, {subject: string | null; descriptor: Descriptor}>()

  /** `root` is the layout directory's real path; every message names files under it. */
  constructor(
    readonly root: string,
    private readonly pace: Pace,
  ) {}

  /** index.json as it is now; it existed when the layout was opened, so its absence is damage, not emptiness. */
  private async index(): Promise<Index> {
    const index = await readIndex(this.root)
    if (index === null) throw new LayoutError('INVALID_INDEX', indexPath(this.root), `${indexPath(this.root)} has disappeared`)
    return index
  }

  /**
   * Resolves a tag or digest to its manifest's descriptor; null when absent. A digest is found through an
   * index.json entry or, failing that, a blob that is a manifest (an index's child has no entry of its own).
   */
  async headManifest(reference: string): Promise<ManifestHead | null> {
    const index = await this.index()
    if (isDigest(reference)) {
      const entry = index.manifests.find((d) => d.digest === reference)
      if (entry) return this.present(entry, `${indexPath(this.root)} lists ${reference}`)
      const bytes = await readBlob(this.root, reference, MAX_MANIFEST_BYTES, 'a manifest').catch((err) => {
        if (err instanceof LayoutError && err.code === 'TOO_LARGE') return null
        throw err
      })
      const mediaType = bytes && detectMediaType(bytes)
      return bytes && mediaType ? {digest: reference, mediaType, size: bytes.byteLength} : null
    }
    checkTag(reference)
    const entries = index.manifests.filter((d) => tagOf(d) === reference)
    if (entries.length === 0) return null
    const digests = new Set(entries.map((d) => d.digest))
    if (digests.size > 1) {
      throw new LayoutError(
        'AMBIGUOUS_TAG',
        indexPath(this.root),
        `${indexPath(this.root)} tags ${reference} with ${digests.size} different manifests (${[...digests].join(', ')})`,
      )
    }
    return this.present(entries[0]!, `${indexPath(this.root)} tags ${reference} as ${entries[0]!.digest}`)
  }

  /** The descriptor of an index.json entry, once its blob is known to be there. */
  private async present(entry: Descriptor, listed: string): Promise<ManifestHead> {
    const digest = entry.digest as Digest
    if ((await headBlob(this.root, digest)) === null) {
      throw new LayoutError('BLOB_MISSING', blobPath(this.root, digest), `${listed}, but ${blobPath(this.root, digest)} is missing`)
    }
    return {digest, mediaType: baseMediaType(entry.mediaType), size: entry.size}
  }

  /** GETs a manifest by tag or digest: verified bytes (hash and size), parsed. Absent is an error. */
  async getManifest(reference: string): Promise<FetchedManifest> {
    const manifest = await this.getManifestIfPresent(reference)
    if (manifest === null) throw new LayoutError('MANIFEST_UNKNOWN', this.root, `${this.root} has no manifest ${reference}`)
    return manifest
  }

  async getManifestIfPresent(reference: string): Promise<FetchedManifest | null> {
    const head = await this.headManifest(reference)
    if (head === null) return null
    const path = blobPath(this.root, head.digest)
    const bytes = await readBlob(this.root, head.digest, MAX_MANIFEST_BYTES, 'a manifest')
    if (bytes === null) throw new LayoutError('BLOB_MISSING', path, `${path} disappeared while being read`)
    if (bytes.byteLength !== head.size) {
      throw new LayoutError('SIZE_MISMATCH', path, `${path} is ${bytes.byteLength} bytes, but ${indexPath(this.root)} says ${head.size}`)
    }
    try {
      return {...head, bytes, parsed: parseManifest(bytes, head.mediaType)}
    } catch (err) {
      if (err instanceof ManifestError) throw new LayoutError('INVALID_MANIFEST', path, `${path} is not a usable manifest: ${err.message}`, {cause: err})
      throw err
    }
  }

  /**
   * Stores a manifest (as a blob) and, for a tag, points the tag at it. Like a registry, the blobs and child
   * manifests it references must be stored first; its subject need not be. A manifest with a subject also gets
   * an untagged index.json entry, so listReferrers finds it. A tag naming other content is left alone, unless
   * it names `replacing` (a read-modify-write of the tag; see setTag).
   */
  async putManifest(
    reference: string,
    manifest: {bytes: Uint8Array; mediaType: string; digest: Digest},
    replacing: Digest | null = null,
  ): Promise<ManifestPut> {
    if (isDigest(reference) && reference !== manifest.digest) {
      throw new LayoutError('INVALID_REFERENCE', this.root, `manifest ${manifest.digest} cannot be stored under the digest ${reference}`)
    }
    if (!isDigest(reference)) checkTag(reference)
    const fetched = toFetched(manifest, blobPath(this.root, manifest.digest))
    for (const child of childrenOf(fetched.parsed)) {
      if ((await headBlob(this.root, child.digest as Digest)) === null) {
        throw new LayoutError(
          'MANIFEST_BLOB_UNKNOWN',
          blobPath(this.root, child.digest as Digest),
          `manifest ${manifest.digest} references ${child.digest}, which is not in ${this.root} yet: store it first`,
        )
      }
    }
    await putBlob(this.root, {digest: manifest.digest, size: fetched.size, body: new Blob([fetched.bytes]).stream()})
    const descriptor: Descriptor = {mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.size}
    if (subjectOf(fetched) !== null) await addUntagged(this.root, {...descriptor, ...artifactTypeOf(fetched)}, {pace: this.pace})
    if (isDigest(reference)) return {kind: 'stored'}
    return setTag(this.root, reference, descriptor, replacing, {pace: this.pace})
  }

  /** Tags in index.json, sorted; names that are not valid tags (full references some tools write) are left out. */
  async listTags(): Promise<string[]> {
    const index = await this.index()
    const tags = new Set(index.manifests.map(tagOf).filter((tag): tag is string => tag !== null && tagProblem(tag) === null))
    return [...tags].sort()
  }

  /**
   * The referrers of `digest`: every manifest listed in index.json whose `subject` is it, as the descriptors
   * the registry referrers API would list (artifactType, annotations). Each listed manifest is read and
   * verified once per handle. Entries of types we cannot parse (schema 1, the withdrawn OCI artifact manifest
   * old oras wrote) are skipped: they are not referrers we could copy, and must not hide the ones we can.
   */
  async listReferrers(digest: Digest): Promise<Descriptor[]> {
    const index = await this.index()
    const found: Descriptor[] = []
    const seen = new Set<string>()
    for (const entry of index.manifests) {
      if (seen.has(entry.digest) || !(isImageManifest(entry.mediaType) || isIndex(entry.mediaType))) continue
      seen.add(entry.digest)
      let info = this.referrerInfo.get(entry.digest as Digest)
      if (!info) {
        const manifest = await this.getManifest(entry.digest)
        info = {subject: subjectOf(manifest), descriptor: referrerDescriptor(manifest)}
        this.referrerInfo.set(manifest.digest, info)
      }
      if (info.subject === digest) found.push(info.descriptor)
    }
    return found
  }

  /** The blob's size when present, null when not. */
  headBlob(digest: Digest): Promise<number | null> {
    return headBlob(this.root, digest)
  }

  /**
   * Opens a blob as a stream verified against its name; absent is an error naming the path. With the
   * descriptor's `size`, a file of another size is refused before it is read.
   */
  async getBlob(digest: Digest, size?: number): Promise<BlobStream> {
    const blob = await openBlob(this.root, digest, size)
    if (blob === null) throw new LayoutError('BLOB_UNKNOWN', blobPath(this.root, digest), `${blobPath(this.root, digest)} is missing`)
    return blob
  }

  /** Links a blob in from the layout at `fromRoot` after hashing it there; false when it cannot be linked. */
  linkBlob(fromRoot: string, digest: Digest, size?: number): Promise<boolean> {
    return linkBlob(this.root, fromRoot, digest, size)
  }

  /** Stores a blob from a stream, verified; a blob already present is not rewritten. */
  putBlob(blob: {digest: Digest; size: number; body: ReadableStream<Uint8Array>}): Promise<BlobPut> {
    return putBlob(this.root, blob)
  }
}

function checkTag(tag: string): void {
  const problem = tagProblem(tag)
  if (problem !== null) throw new LayoutError('INVALID_REFERENCE', tag, `${JSON.stringify(tag)} is neither a digest nor a tag: ${problem}`)
}

/** Bytes given to putManifest, checked as we check bytes read: hash, size cap, parse. */
function toFetched(manifest: {bytes: Uint8Array; mediaType: string; digest: Digest}, path: string): FetchedManifest {
  if (manifest.bytes.byteLength > MAX_MANIFEST_BYTES)
    throw new LayoutError('TOO_LARGE', path, `manifest ${manifest.digest} is larger than ${MAX_MANIFEST_BYTES} bytes: not storing it at ${path}`)
  const actual = digestOf(manifest.bytes, digestAlgorithm(manifest.digest))
  if (actual !== manifest.digest)
    throw new LayoutError('DIGEST_MISMATCH', path, `${path} was not written: the manifest given as ${manifest.digest} hashes to ${actual}`)
  const mediaType = baseMediaType(manifest.mediaType)
  try {
    return {digest: manifest.digest, mediaType, size: manifest.bytes.byteLength, bytes: manifest.bytes, parsed: parseManifest(manifest.bytes, mediaType)}
  } catch (err) {
    if (err instanceof ManifestError) throw new LayoutError('INVALID_MANIFEST', path, `${path} was not written: ${err.message}`, {cause: err})
    throw err
  }
}

function artifactTypeOf(manifest: FetchedManifest): {artifactType?: string} {
  const artifactType = referrerDescriptor(manifest).artifactType
  return artifactType !== undefined ? {artifactType} : {}
}
