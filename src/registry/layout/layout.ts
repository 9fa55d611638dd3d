/**
 * One repository stored as an OCI image layout directory (image-spec image-layout.md, v1.1): `oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`. Tags are `org.opencontainers.image.ref.name` annotations on index.json
 * entries; referrers are found through the `subject` of the manifests index.json lists (the spec's referrers
 * fallback), so every referrer put here also gets an untagged index.json entry.
 *
 * The methods mirror RegistryClient's (headManifest, getManifest, putManifest, blob head/get/put, tags,
 * referrers) without the repository argument, because a layout is one repository: a store-agnostic handle can
 * later wrap either. Like the registry client, every manifest read is hashed and checked, and a tag that
 * already names other content is never moved.
 */
import {mkdir, realpath, stat} from 'node:fs/promises'
import {isAbsolute, join, relative, resolve} from 'node:path'
import {type Descriptor, type Index, ManifestError, parseManifest} from '../../oci/manifest.ts'
import {baseMediaType, isImageManifest, isIndex} from '../../oci/media-types.ts'
import {type Digest, digestAlgorithm, digestOf, isDigest} from '../../ref/digest.ts'
import {tagProblem} from '../../ref/reference.ts'
import type {Pace} from '../../transport/retry.ts'
import {type FetchedManifest, type ManifestHead, MAX_MANIFEST_BYTES} from '../handle.ts'
import {LayoutError} from '../layout-errors.ts'
import {referrerDescriptor, subjectOf} from '../referrer-manifests.ts'
import {type BlobPut, type BlobStream, headBlob, linkBlob, openBlob, putBlob, readBlob} from './blobs.ts'
import {blobPath, ensureDirectoryInside, errnoCode, readInside, realInside, sizeInside, writeAtomic} from './files.ts'
import {emptyIndex, indexPath, readIndex, tagOf} from './index-file.ts'
import {addUntagged, childrenOf, detectMediaType, setTag, type TagPut} from './manifests.ts'

const IMAGE_LAYOUT_VERSION = '1.0.0'
/** `oci-layout` is a one-field JSON object; anything bigger is not one. */
const MAX_OCI_LAYOUT_BYTES = 64 * 1024

export type {BlobPut, BlobStream, TagPut}

/** What putManifest did: stored by digest, or what happened to the tag (see TagPut). */
export type ManifestPut = {kind: 'stored'} | TagPut

export interface OpenLayoutOptions {
  /** Create the directory and an empty layout when there is none (a target); false for a source. */
  create: boolean
  /** The run's pace: how writers wait for the index.json lock (lock.ts), and on which clock. */
  pace: Pace
  /**
   * The layout tree (`oci:DIR/`) that `dir` is in: `dir` and every directory between must resolve inside it, so
   * a repository or registry directory that is a symlink leading out is refused. Default: `dir` itself.
   */
  tree?: string
}

/**
 * Opens the layout at `dir`. Without `create`, `dir` must already be a layout. With it, a missing directory,
 * or one without `oci-layout` and `index.json`, becomes an empty layout; a directory holding an index.json
 * but no oci-layout is refused rather than adopted, since we cannot tell what wrote it.
 */
export async function openLayout(dir: string, options: OpenLayoutOptions): Promise<OciLayout> {
  const root = await layoutRoot(dir, options)
  const layoutFile = join(root, 'oci-layout')
  let marker = await readInside(root, layoutFile, MAX_OCI_LAYOUT_BYTES, 'an oci-layout file')
  if (marker === null && options.create) {
    // Another process may be creating the layout right now: it writes oci-layout before index.json, so an
    // index.json seen after our look for oci-layout means a second look finds oci-layout, if a creator made it.
    if ((await sizeInside(root, indexPath(root))) !== null && (await readInside(root, layoutFile, MAX_OCI_LAYOUT_BYTES, 'an oci-layout file')) === null) {
      throw new LayoutError('NOT_A_LAYOUT', layoutFile, `${root} has an index.json but no oci-layout file: refusing to turn an unknown directory into a layout`)
    }
    // oci-layout first, index.json second: a directory with oci-layout and no index.json is one being created.
    await writeAtomic(layoutFile, new TextEncoder().encode(JSON.stringify({imageLayoutVersion: IMAGE_LAYOUT_VERSION})), 'keep-existing')
    marker = await readInside(root, layoutFile, MAX_OCI_LAYOUT_BYTES, 'an oci-layout file')
  }
  if (marker === null) throw new LayoutError('NOT_A_LAYOUT', layoutFile, `${root} is not an OCI image layout: ${layoutFile} is missing`)
  checkLayoutVersion(marker, layoutFile)
  if (options.create) {
    await ensureDirectoryInside(root, join(root, 'blobs'))
    if ((await readIndex(root)) === null) await writeAtomic(indexPath(root), new TextEncoder().encode(JSON.stringify(emptyIndex())), 'keep-existing')
  }
  if ((await readIndex(root)) === null)
    throw new LayoutError('INVALID_INDEX', indexPath(root), `${root} is not a complete OCI image layout: ${indexPath(root)} is missing`)
  return new OciLayout(root, options.pace)
}

/**
 * The real path of the layout directory, checked to lie inside its tree. The tree is created as named (it is
 * the boundary the user chose, a symlink or not); below it, each level is created only once the level above is
 * known to be inside, so a symlinked registry directory never gets a repository created where it leads.
 */
async function layoutRoot(dir: string, options: OpenLayoutOptions): Promise<string> {
  const tree = options.tree ?? dir
  if (options.create) await mkdir(tree, {recursive: true})
  const realTree = await realDirectory(tree, dir)
  const below = relative(resolve(tree), resolve(dir))
  if (below === '') return realTree
  if (below.startsWith('..') || isAbsolute(below)) throw new LayoutError('OUTSIDE_LAYOUT', dir, `${dir} is not inside the layout tree ${tree}`)
  const path = join(realTree, below)
  const real = options.create ? await ensureDirectoryInside(realTree, path) : await realInside(realTree, path)
  if (real === null) throw new LayoutError('NOT_A_LAYOUT', dir, `${dir} does not exist, so it is not an OCI image layout`)
  return realDirectory(real, dir)
}

async function realDirectory(path: string, dir: string): Promise<string> {
  try {
    const real = await realpath(path)
    if (!(await stat(real)).isDirectory()) throw new LayoutError('NOT_A_LAYOUT', dir, `${path} is not a directory, so not an OCI image layout`)
    return real
  } catch (err) {
    // The layout looked for is named even when it is its tree that is missing: that is the path a user checks.
    if (errnoCode(err) === 'ENOENT') throw new LayoutError('NOT_A_LAYOUT', dir, `${dir} does not exist, so it is not an OCI image layout`)
    throw err
  }
}

function checkLayoutVersion(bytes: Uint8Array, path: string): void {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new LayoutError('NOT_A_LAYOUT', path, `${path} is not valid JSON, so this is not an OCI image layout`)
  }
  const version = (json as {imageLayoutVersion?: unknown} | null)?.imageLayoutVersion
  if (version !== IMAGE_LAYOUT_VERSION) {
    throw new LayoutError(
      'UNSUPPORTED_LAYOUT_VERSION',
      path,
      `${path} has imageLayoutVersion ${JSON.stringify(version ?? null)}, but only "${IMAGE_LAYOUT_VERSION}" is supported`,
    )
  }
}

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
