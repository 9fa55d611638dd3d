/**
 * An OCI image layout directory as a store handle (one layout per repository, see layout/layout.ts). The
 * directory is opened on first use: a target is created when missing, a source must already be a layout.
 *
 * How registry notions map: a layout indexes referrers itself (through `subject`), so no fallback index is ever
 * written; a tag never moves except by the conditional forms (If-None-Match: * creates only, If-Match with the
 * digest read as its ETag replaces only that), so the never-overwrite guarantee holds as on a registry; a
 * "mount" from another layout is a hard link of the (verified) blob file.
 */
import type {Digest} from '../../ref/digest.ts'
import type {Pace} from '../../transport/retry.ts'
import {ContentError} from '../errors.ts'
import type {
  BlobSource,
  ManifestBytes,
  ManifestToPut,
  PutOptions,
  PutOutcome,
  ReferrerList,
  RepositoryHandle,
  StoreLocation,
  StoreOptions,
  TagListing,
} from '../handle.ts'
import {MAX_REFERRERS, parsedForPut, ReferrersError, subjectOf} from '../referrer-manifests.ts'
import type {OciLayout} from './layout.ts'
import {openLayout} from './open.ts'

export type LayoutRole = 'source' | 'target'

export class LayoutRepository implements RepositoryHandle {
  readonly location: StoreLocation
  private opened: Promise<OciLayout> | null = null

  constructor(
    /** The layout directory, as resolved from the prefix or mirror the user gave. */
    readonly name: string,
    private readonly role: LayoutRole,
    /**
     * `pace`: the run's, for the writer lock of index.json. `tree`: the `oci:DIR/` tree the layout is in, which
     * every path it reads or writes must resolve inside.
     */
    private readonly options: {pace: Pace; tree?: string},
  ) {
    this.location = {kind: 'layout', root: name}
  }

  /** Opened once; a failure is not kept, so a later call reports it again (and a fixed directory works). */
  private layout(): Promise<OciLayout> {
    if (this.opened === null) {
      const opening = openLayout(this.name, {
        create: this.role === 'target',
        pace: this.options.pace,
        ...(this.options.tree !== undefined ? {tree: this.options.tree} : {}),
      })
      opening.catch(() => {
        if (this.opened === opening) this.opened = null
      })
      this.opened = opening
    }
    return this.opened
  }

  async headManifest(reference: string) {
    return (await this.layout()).headManifest(reference)
  }

  async getManifest(reference: string) {
    return (await this.layout()).getManifest(reference)
  }

  /** The manifest's digest stands in for an ETag: If-Match then means "the tag still names what I read". */
  async getManifestIfPresent(reference: string) {
    const manifest = await (await this.layout()).getManifestIfPresent(reference)
    return manifest && {...manifest, etag: manifest.digest}
  }

  async getManifestBytesIfPresent(reference: string): Promise<ManifestBytes | null> {
    const manifest = await (await this.layout()).getManifestIfPresent(reference)
    return manifest && {digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size, bytes: manifest.bytes}
  }

  async putManifest(reference: string, manifest: ManifestToPut, options: PutOptions = {}): Promise<PutOutcome> {
    const replacing = options.ifMatch ? (options.ifMatch as Digest) : null
    const put = await (await this.layout()).putManifest(reference, manifest, replacing)
    // `exists`: the tag names other content, which a layout never replaces unasked, conditional or not.
    if (put.kind === 'exists') return {kind: 'precondition-failed'}
    // Storing a manifest with a subject listed it in index.json: the layout is its own referrers index.
    return {kind: 'stored', referrer: subjectOf(parsedForPut(manifest)) === null ? null : 'indexed'}
  }

  async headBlob(digest: Digest) {
    return (await this.layout()).headBlob(digest)
  }

  /** A file whose size is not the descriptor's `size` is refused before it is read (a sparse file, a swap). */
  async getBlob(digest: Digest, options: StoreOptions & {size?: number} = {}): Promise<ReadableStream<Uint8Array>> {
    return (await (await this.layout()).getBlob(digest, options.size)).body
  }

  async getSmallBlob(digest: Digest, maxBytes: number): Promise<Uint8Array> {
    const blob = await (await this.layout()).getBlob(digest)
    if (blob.size > maxBytes) {
      await blob.body.cancel()
      throw new ContentError('BLOB_TOO_LARGE', `blob ${digest} is larger than ${maxBytes} bytes`)
    }
    // The stream errors instead of ending when the bytes do not hash to the digest.
    return new Uint8Array(await new Response(blob.body).arrayBuffer())
  }

  /** `mountFrom` another layout: the file is hard-linked from there (see linkBlob), else the bytes are copied. */
  async putBlob(blob: BlobSource, options: StoreOptions & {mountFrom?: RepositoryHandle} = {}): Promise<'mounted' | 'uploaded'> {
    const layout = await this.layout()
    const from = options.mountFrom
    // The other layout as it was opened (a real path checked against its tree), not the name it was given.
    if (from instanceof LayoutRepository && from.name !== this.name && (await layout.linkBlob((await from.layout()).root, blob.digest, blob.size)))
      return 'mounted'
    await layout.putBlob({digest: blob.digest, size: blob.size, body: await blob.open()})
    return 'uploaded'
  }

  async listTags(): Promise<TagListing> {
    return {kind: 'listed', tags: new Set(await (await this.layout()).listTags())}
  }

  async listReferrers(digest: Digest): Promise<ReferrerList> {
    const descriptors = await (await this.layout()).listReferrers(digest)
    if (descriptors.length > MAX_REFERRERS) {
      throw new ReferrersError(
        'TOO_MANY_REFERRERS',
        `${this.name}: ${digest} has more than ${MAX_REFERRERS} referrers, the most image-syncer reads for one digest`,
      )
    }
    return {api: 'supported', descriptors}
  }
}
