/**
 * The one copy engine: gets manifest trees and blobs from one store's repository into another's, with as
 * little traffic as possible, once per run. Apply copies images with it and signature carrying copies
 * signature artifacts with it; it knows stores only through RepositoryHandle, so a registry and an OCI image
 * layout are sources and targets alike.
 *
 * Blobs: held by another target repository of the same registry this run → cross-repository mount (between
 * layouts: a hard link), which also answers for a blob already there; else already there (HEAD) → nothing;
 * otherwise a streamed GET → PUT, hashed while streaming and abandoned when the bytes are not the blob's. Each blob moves once per target registry per run: concurrent needs of one digest wait for
 * the first upload, then mount from it.
 *
 * Manifests: each distinct (target repository, digest) is walked once per run, however many indexes list it and
 * however many entries or signature artifacts reach it (as go-containerregistry and containerd dedupe by digest),
 * so an index DAG that repeats children costs requests linear in its distinct manifests, not in its paths.
 * A transfer is counted for the need that started it; every need sharing it counts the blob as present.
 */
import type {Digest} from '../ref/digest.ts'
import type {FetchedManifest} from '../registry/client.ts'
import {ContentError} from '../registry/errors.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {LayoutError} from '../registry/layout/errors.ts'
import {Limiter, mapLimit} from '../transport/limiter.ts'
import {NetworkError, RegistryError} from '../transport/errors.ts'
import {DEFAULT_RETRY, retryDelayMs, type RetryPolicy, sleep, TEMPORARY_STATUS} from '../transport/retry.ts'
import {type BlobReference, blobsOf, childrenOf, filterAsync} from './references.ts'
import {verified} from './verified.ts'

type BlobOutcome = 'present' | 'mounted' | 'uploaded'

interface CopyEngineOptions {
  /** Concurrent blob transfers across the run. */
  transfers: number
  /** Whole-transfer attempts (GET + PUT from the start) for one blob. */
  attempts?: number
  signal?: AbortSignal
}

/** Whom a copy's transfers are counted for: an entry's blobs and bytes; signature artifacts count nothing. */
interface Tally {
  /** Each blob a walk needed, with what it took; one that another need placed this run counts as `present`. */
  blob(outcome: BlobOutcome, size: number): void
  bytes(n: number): void
}

/** Where a copy reads from and writes to. */
export interface Route {
  source: RepositoryHandle
  target: RepositoryHandle
  tally: Tally
}

export const NO_TALLY: Tally = {blob: () => {}, bytes: () => {}}

/** `always`: a plain PUT. `if-absent`: `If-None-Match: *`, so a store that honours it never overwrites a tag. */
type PutCondition = 'always' | 'if-absent'

/** Three attempts: a reset mid-stream or a flaky upload is retried twice before the entry fails. */
const DEFAULT_ATTEMPTS = 3

/** Children of an index copied at once; each child's blobs are bounded by the transfer limit. */
const CHILD_CONCURRENCY = 4

/**
 * What a registry says when a manifest's references are not (yet) visible to it. distribution rewrites a
 * repository's link files in place, so while another writer stores the same blob or child manifest, reading the
 * link finds it missing (…_UNKNOWN) or empty (DIGEST_INVALID) for a moment.
 */
const UNSEEN_REFERENCE_CODES = ['MANIFEST_BLOB_UNKNOWN', 'BLOB_UNKNOWN', 'MANIFEST_UNKNOWN', 'DIGEST_INVALID']

/** Such a PUT is tried 4 times within 0.7 s: the other writer's link writes take milliseconds. */
const MANIFEST_PUT_RETRY: RetryPolicy = {maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000}

export class CopyEngine {
  private readonly limiter: Limiter
  private readonly blobs = new Map<string, Promise<BlobOutcome>>()
  /** Source trees read through once this run (layouts only, see verifySource), by source name and digest. */
  private readonly checked = new Map<string, Promise<void>>()
  /** Manifests placed (or being placed) this run, by target name and digest. */
  private readonly manifests = new Map<string, Promise<void>>()
  /** Repositories of a target registry known to hold a digest (this run), by `registry@digest`. */
  private readonly holders = new Map<string, RepositoryHandle[]>()
  /** The first upload of a digest to a registry, which later needs wait for and mount from. */
  private readonly firstUpload = new Map<string, Promise<unknown>>()

  constructor(private readonly options: CopyEngineOptions) {
    this.limiter = new Limiter(options.transfers)
  }

  /**
   * Ensures the route's target holds the blob; one call per (repository, digest) does the work and gets its
   * outcome, later calls share it and get `present`, so a transfer is counted once however many manifests list it.
   */
  ensureBlob(route: Route, blob: {digest: Digest; size: number; kind?: BlobReference['kind']}): Promise<BlobOutcome> {
    const key = keyOf(route.target, blob.digest)
    const pending = this.blobs.get(key)
    if (pending) return pending.then(() => 'present')
    return remember(this.blobs, key, this.place(route, blob))
  }

  /**
   * Ensures the target holds manifest `digest` and everything below it: children and blobs first, then the
   * manifest by digest. `fetched` is the manifest when the caller has already read it (saves a GET).
   */
  ensureManifest(route: Route, digest: Digest, fetched?: FetchedManifest): Promise<void> {
    const key = keyOf(route.target, digest)
    return this.manifests.get(key) ?? remember(this.manifests, key, this.placeManifest(route, digest, fetched))
  }

  /**
   * Reads every manifest and blob below `top` in the source once and throws at the first that is missing or
   * does not hash to its digest, before anything is written. Done for layout sources, which are files carried
   * across an air gap: a damaged tree must leave the target untouched, not half-copied. (A registry source is
   * checked while streaming, and a registry would refuse what does not hash anyway.)
   */
  verifySource(source: RepositoryHandle, top: FetchedManifest): Promise<void> {
    const key = keyOf(source, top.digest)
    return this.checked.get(key) ?? remember(this.checked, key, this.readTree(source, top))
  }

  private async readTree(source: RepositoryHandle, manifest: FetchedManifest): Promise<void> {
    const signal = this.options.signal
    if (manifest.parsed.kind === 'index') {
      await mapLimit(childrenOf(manifest), CHILD_CONCURRENCY, async (child) => this.verifySource(source, await source.getManifest(child, signal)))
      return
    }
    await Promise.all(blobsOf(manifest).map((blob) => this.limiter.run(async () => drain(await source.getBlob(blob.digest, signal, blob.size)))))
  }

  /** The blobs an image manifest lists (an index lists none), each ensured at the target. */
  async ensureBlobsOf(route: Route, manifest: FetchedManifest): Promise<void> {
    await Promise.all(blobsOf(manifest).map((blob) => this.placeBlob(route, blob)))
  }

  /**
   * PUTs `manifest` under `reference` (a tag, or its digest). When the registry says something it references is
   * unknown, the references are looked at again (HEAD), what is really missing is copied again, and the PUT is
   * retried a few times with backoff. Returns `taken` when `if-absent` was refused (412): someone else wrote it.
   */
  async putManifest(route: Route, reference: string, manifest: FetchedManifest, condition: PutCondition = 'always'): Promise<'stored' | 'taken'> {
    const signal = this.options.signal
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await route.target.putManifest(reference, manifest, {...(condition === 'if-absent' ? {ifNoneMatch: '*'} : {}), ...(signal ? {signal} : {})})
        return outcome.kind === 'stored' ? 'stored' : 'taken'
      } catch (err) {
        if (signal?.aborted || !(err instanceof RegistryError) || !UNSEEN_REFERENCE_CODES.some((code) => err.hasCode(code))) throw err
        if (attempt >= MANIFEST_PUT_RETRY.maxAttempts) {
          throw new Error(`${err.message} (refused ${attempt} times; what it references was checked and copied again before each retry)`, {cause: err})
        }
        await sleep(retryDelayMs(MANIFEST_PUT_RETRY, attempt, null), signal)
        await this.replaceMissing(route, manifest)
      }
    }
  }

  private async placeManifest(route: Route, digest: Digest, fetched?: FetchedManifest): Promise<void> {
    const signal = this.options.signal
    // A store only accepts a manifest whose references it holds, so one already there needs nothing below it.
    if ((await route.target.headManifest(digest, signal)) !== null) return
    const manifest = fetched ?? (await route.source.getManifest(digest, signal))
    if (manifest.parsed.kind === 'index') await mapLimit(childrenOf(manifest), CHILD_CONCURRENCY, (child) => this.ensureManifest(route, child))
    else await this.ensureBlobsOf(route, manifest)
    await this.putManifest(route, digest, manifest)
  }

  private async placeBlob(route: Route, blob: BlobReference): Promise<void> {
    route.tally.blob(await this.ensureBlob(route, blob), blob.size)
  }

  /** After a refused PUT: forgets what this run believed placed but the target does not show, and places it again. */
  private async replaceMissing(route: Route, manifest: FetchedManifest): Promise<void> {
    const {target} = route
    const signal = this.options.signal
    if (manifest.parsed.kind === 'index') {
      const missing = await filterAsync(childrenOf(manifest), async (digest) => (await target.headManifest(digest, signal)) === null)
      for (const digest of missing) this.manifests.delete(keyOf(target, digest))
      await Promise.all(missing.map((digest) => this.ensureManifest(route, digest)))
      return
    }
    const missing = await filterAsync(blobsOf(manifest), async (blob) => (await target.headBlob(blob.digest, signal)) === null)
    for (const blob of missing) this.blobs.delete(keyOf(target, blob.digest))
    await Promise.all(missing.map((blob) => this.placeBlob(route, blob)))
  }

  private async place(route: Route, blob: {digest: Digest; size: number; kind?: BlobReference['kind']}): Promise<BlobOutcome> {
    const {target} = route
    const registryKey = mountKeyOf(target, blob.digest)
    // A mount also answers for a blob the repository already holds (201), so a known holder needs no HEAD first.
    const holder = async () => {
      const first = this.firstUpload.get(registryKey)
      if (first) await first.catch(() => {})
      return this.holders.get(registryKey)?.find((r) => r.name !== target.name)
    }
    const before = await holder()
    if (before) return this.upload(route, blob, before)
    if (!uploadUnseen(blob) && (await target.headBlob(blob.digest, this.options.signal)) !== null) {
      this.remember(target, blob.digest)
      return 'present'
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
   * (new GET, new session) on temporary failures.
   */
  private async upload(route: Route, blob: {digest: Digest; size: number}, mountFrom: RepositoryHandle | null): Promise<BlobOutcome> {
    const {signal} = this.options
    const attempts = this.options.attempts ?? DEFAULT_ATTEMPTS
    const source = {...blob, open: async () => verified(await route.source.getBlob(blob.digest, signal, blob.size), blob, (n) => route.tally.bytes(n))}
    for (let attempt = 1; ; attempt++) {
      try {
        const mount = attempt === 1 && mountFrom ? {mountFrom} : {}
        const outcome = await this.limiter.run(() => route.target.putBlob(source, {...mount, ...(signal ? {signal} : {})}))
        this.remember(route.target, blob.digest)
        return outcome
      } catch (err) {
        if (signal?.aborted || attempt >= attempts || !isTemporary(err)) throw err
        await sleep(retryDelayMs(DEFAULT_RETRY, attempt, err instanceof RegistryError ? err.retryAfter : null), signal)
      }
    }
  }

  private remember(target: RepositoryHandle, digest: Digest): void {
    const key = mountKeyOf(target, digest)
    const list = this.holders.get(key) ?? []
    if (!list.some((r) => r.name === target.name)) list.push(target)
    this.holders.set(key, list)
  }
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _chunk of stream) {
    // Nothing to keep: reading to the end is what verifies (the layout's stream errors on wrong bytes).
  }
}

/** Stores a pending operation under `key`, forgotten again if it fails so that a later need tries afresh. */
function remember<T>(memo: Map<string, Promise<T>>, key: string, pending: Promise<T>): Promise<T> {
  memo.set(key, pending)
  pending.catch(() => memo.get(key) === pending && memo.delete(key))
  return pending
}

function keyOf(target: RepositoryHandle, digest: Digest): string {
  return `${target.name}@${digest}`
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
function uploadUnseen(blob: {digest: Digest; kind?: BlobReference['kind']}): boolean {
  return blob.kind === 'config' && blob.digest !== EMPTY_JSON_DIGEST
}

/** Network failures, temporary statuses and corrupted transfers are worth a fresh attempt. */
function isTemporary(err: unknown): boolean {
  if (err instanceof NetworkError) return err.temporary
  if (err instanceof RegistryError) return TEMPORARY_STATUS.has(err.status) || err.hasCode('BLOB_UPLOAD_UNKNOWN') || err.hasCode('DIGEST_INVALID')
  if (err instanceof LayoutError) return false
  return err instanceof ContentError || err instanceof TypeError
}
