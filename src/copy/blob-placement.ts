/**
 * The engine's blobs: each (target repository, digest, declared size) is placed once per run. Held by another
 * target repository of the same registry this run → cross-repository mount (between layouts: a hard link), which
 * also answers for a blob already there; else already there (HEAD) → nothing; otherwise a streamed GET → PUT,
 * hashed while streaming and abandoned when the bytes are not the blob's. Each blob moves once per target registry
 * per run: concurrent needs of one digest wait for the first upload, then mount from it.
 *
 * The declared size is part of the key, and every need is checked against the blob's real size (known from a
 * verified upload or the target's HEAD) whichever way it is placed: a manifest that lists a blob with a wrong size
 * fails alone and in company, and never makes a correct manifest of the same apply fail or lets it pass unchecked.
 */
import type {Digest} from '../ref/digest.ts'
import {ContentError} from '../registry/errors.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import type {Limiter} from '../transport/limiter.ts'
import {RegistryError} from '../transport/errors.ts'
import {backoff, type Pace} from '../transport/retry.ts'
import {isTemporary} from '../transport/temporary.ts'
import type {BlobReference} from './references.ts'
import {verified} from './verified.ts'
import {remember} from './memo.ts'

export type BlobOutcome = 'present' | 'mounted' | 'uploaded'

/** A blob as a manifest lists it: digest, declared size, and as what. */
export type BlobNeed = {digest: Digest; size: number; kind?: BlobReference['kind']}

/** Where one blob comes from and goes to, and whom its bytes are counted for. */
export interface BlobRoute {
  source: RepositoryHandle
  target: RepositoryHandle
  onBytes: (n: number) => void
}

export class BlobPlacement {
  private readonly placed = new Map<string, Promise<BlobOutcome>>()
  /** Repositories of a target registry known to hold a digest (this run), and its real size, by `registry@digest`. */
  private readonly holders = new Map<string, {size: number | null; repositories: RepositoryHandle[]}>()
  /** The first upload of a digest to a registry, which later needs wait for and mount from. */
  private readonly firstUpload = new Map<string, Promise<unknown>>()

  constructor(
    private readonly limiter: Limiter,
    private readonly attempts: number,
    private readonly pace: Pace,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** One call per (repository, digest, size) does the work and gets its outcome; later calls get `present`. */
  ensure(route: BlobRoute, blob: BlobNeed): Promise<BlobOutcome> {
    const key = blobKeyOf(route.target, blob)
    const pending = this.placed.get(key)
    if (pending) return pending.then(() => 'present')
    return remember(this.placed, key, this.place(route, blob))
  }

  /** Forgets a placement the target does not show after all, so that the next `ensure` places it again. */
  forget(target: RepositoryHandle, blob: BlobNeed): void {
    this.placed.delete(blobKeyOf(target, blob))
  }

  private async place(route: BlobRoute, blob: BlobNeed): Promise<BlobOutcome> {
    const {target} = route
    const registryKey = mountKeyOf(target, blob.digest)
    // A mount also answers for a blob the repository already holds (201), so a known holder needs no HEAD first.
    const holder = async () => {
      const first = this.firstUpload.get(registryKey)
      if (first) await first.catch(() => {})
      const held = this.holders.get(registryKey)
      if (held && held.size !== null) checkSize(blob, held.size, 'was stored')
      return held?.repositories.find((r) => r.name !== target.name)
    }
    const before = await holder()
    if (before) return this.upload(route, blob, before)
    if (!uploadUnseen(blob)) {
      const size = await target.headBlob(blob.digest, {signal: this.signal})
      if (size !== null) {
        // A registry that sends no length (-1) leaves the size unchecked, as the upload it saves would not be.
        if (size >= 0) checkSize(blob, size, `is held by ${target.name}`)
        this.remember(target, blob.digest, size >= 0 ? size : null)
        return 'present'
      }
    }
    // Another need may have started uploading it while we looked.
    const from = await holder()
    if (from) return this.upload(route, blob, from)
    const upload = this.upload(route, blob, null)
    if (!this.firstUpload.has(registryKey)) this.firstUpload.set(registryKey, upload)
    return upload
  }

  /**
   * Streams the blob (or mounts it from `mountFrom` on the first attempt), retrying the whole transfer
   * (new GET, new session) on temporary failures: besides what the transport retries itself, a stream that broke,
   * a session the registry lost, bytes spoiled on the way. A mount is made only from a holder whose size was checked.
   */
  private async upload(route: BlobRoute, blob: BlobNeed, mountFrom: RepositoryHandle | null): Promise<BlobOutcome> {
    const {signal} = this
    const source = {
      digest: blob.digest,
      size: blob.size,
      open: async () => verified(await route.source.getBlob(blob.digest, {signal, size: blob.size}), blob, route.onBytes),
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const mount = attempt === 1 && mountFrom ? {mountFrom} : {}
        const outcome = await this.limiter.run(() => route.target.putBlob(source, {...mount, ...(signal ? {signal} : {})}))
        this.remember(route.target, blob.digest, blob.size)
        return outcome
      } catch (err) {
        if (signal?.aborted || attempt >= this.attempts || !isTemporary(err)) throw err
        await backoff(this.pace, this.pace.retry, attempt, {retryAfter: err instanceof RegistryError ? err.retryAfter : null, signal})
      }
    }
  }

  private remember(target: RepositoryHandle, digest: Digest, size: number | null): void {
    const key = mountKeyOf(target, digest)
    const held = this.holders.get(key) ?? {size, repositories: []}
    held.size ??= size
    if (!held.repositories.some((r) => r.name === target.name)) held.repositories.push(target)
    this.holders.set(key, held)
  }
}

/** A manifest that lists a blob with a size other than its own is refused, whoever placed the blob. */
function checkSize(blob: BlobNeed, actual: number, where: string): void {
  if (actual !== blob.size) {
    throw new ContentError(
      'SIZE_MISMATCH',
      `blob ${blob.digest} is listed with ${blob.size} bytes but ${where} with ${actual}: refusing the manifest that lists it`,
    )
  }
}

function blobKeyOf(target: RepositoryHandle, blob: BlobNeed): string {
  return `${target.name}@${blob.digest}#${blob.size}`
}

/** Blobs are mounted within one registry, or linked between layouts (any on this machine; EXDEV falls back to a copy). */
function mountKeyOf(target: RepositoryHandle, digest: Digest): string {
  return target.location.kind === 'registry' ? `${target.location.registry}@${digest}` : `oci-layout@${digest}`
}

/** The empty JSON object `{}`, the config of artifacts (signature bundles, SBOMs): shared, so often there already. */
const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'

/**
 * Whether to upload without asking first. An image's config is all but unique to its manifest, and its blobs are
 * only placed when the target lacks that manifest, so a HEAD would almost always say absent; uploading a blob the
 * repository holds after all just stores the same bytes again. Layers, shared between images, are asked for.
 */
function uploadUnseen(blob: BlobNeed): boolean {
  return blob.kind === 'config' && blob.digest !== EMPTY_JSON_DIGEST
}
