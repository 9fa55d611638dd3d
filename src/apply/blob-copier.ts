/**
 * Gets content into target repositories with as little traffic as possible, once per run.
 *
 * Blobs: already there (HEAD) → nothing; held by another target repository this run → cross-repository mount;
 * otherwise a streamed GET → PUT, hashed while streaming and abandoned when the bytes are not the blob's. Each
 * blob moves once per target registry per run: concurrent needs of one digest wait for the first upload, then
 * mount from it.
 *
 * Manifests: each distinct (target repository, digest) is walked once per run, however many indexes list it and
 * however many entries or signature artifacts reach it (as go-containerregistry and containerd dedupe by digest),
 * so an index DAG that repeats children costs requests linear in its distinct manifests, not in its paths.
 * A transfer is counted for the need that started it; every need sharing it counts the blob as present.
 */
import {type Digest, digestAlgorithm} from '../ref/digest.ts'
import {cancelUpload, finishUpload, getBlob, headBlob, startUpload} from '../registry/blobs.ts'
import type {FetchedManifest, RegistryClient, Repository} from '../registry/client.ts'
import {ContentError} from '../registry/errors.ts'
import {Limiter, mapLimit} from '../transport/limiter.ts'
import {NetworkError, RegistryError} from '../transport/errors.ts'
import {DEFAULT_RETRY, retryDelayMs, type RetryPolicy, sleep, TEMPORARY_STATUS} from '../transport/retry.ts'
import {blobsOf, childrenOf, filterAsync} from './references.ts'

export type BlobOutcome = 'present' | 'mounted' | 'uploaded'

export interface BlobCopierOptions {
  /** Concurrent blob transfers across the run. */
  transfers: number
  /** Whole-transfer attempts (GET + PUT from the start) for one blob. */
  attempts?: number
  signal?: AbortSignal
}

export interface BlobNeed {
  source: Repository
  target: Repository
  digest: Digest
  size: number
  /** Called with every chunk uploaded, for progress and per-entry accounting. */
  onBytes: (n: number) => void
}

/** Where a manifest walk reads from and writes to, and whom its transfers are counted for. */
export interface WalkNeed {
  source: Repository
  target: Repository
  /** Each blob this walk needed, with what it took; one that another need placed this run counts as `present`. */
  onBlob: (outcome: BlobOutcome, size: number) => void
  onBytes: (n: number) => void
}

interface ManifestNeed extends WalkNeed {
  digest: Digest
}

/** `always`: a plain PUT. `if-absent`: `If-None-Match: *`, so a registry that honours it never overwrites a tag. */
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

export class BlobCopier {
  private readonly limiter: Limiter
  private readonly done = new Map<string, Promise<BlobOutcome>>()
  /** Manifests placed (or being placed) this run, by `registry/repository@digest`. */
  private readonly manifests = new Map<string, Promise<void>>()
  /** Repositories of a target registry known to hold a digest (this run), by `registry@digest`. */
  private readonly holders = new Map<string, Repository[]>()
  /** The first upload of a digest to a registry, which later needs wait for and mount from. */
  private readonly firstUpload = new Map<string, Promise<unknown>>()

  constructor(
    private readonly client: RegistryClient,
    private readonly options: BlobCopierOptions,
  ) {
    this.limiter = new Limiter(options.transfers)
  }

  /**
   * Ensures `need.target` holds the blob; one call per (repository, digest) does the work and gets its outcome,
   * later calls share it and get `present`, so a transfer is counted once however many manifests list the blob.
   */
  ensure(need: BlobNeed): Promise<BlobOutcome> {
    const key = keyOf(need.target, need.digest)
    const pending = this.done.get(key)
    if (pending) return pending.then(() => 'present')
    return remember(this.done, key, this.place(need))
  }

  /**
   * Ensures `need.target` holds manifest `need.digest` and everything below it: children and blobs first, then
   * the manifest by digest. `fetched` is the manifest when the caller has already read it (saves a GET).
   */
  ensureManifest(need: ManifestNeed, fetched?: FetchedManifest): Promise<void> {
    const key = keyOf(need.target, need.digest)
    return this.manifests.get(key) ?? remember(this.manifests, key, this.placeManifest(need, fetched))
  }

  /**
   * PUTs `manifest` under `reference` (a tag, or its digest). When the registry says something it references is
   * unknown, the references are looked at again (HEAD), what is really missing is copied again, and the PUT is
   * retried a few times with backoff. Returns `taken` when `if-absent` was refused (412): someone else wrote it.
   */
  async putManifest(need: WalkNeed, reference: string, manifest: FetchedManifest, condition: PutCondition = 'always'): Promise<'stored' | 'taken'> {
    const signal = this.options.signal
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await this.client.putManifestConditional(need.target, reference, manifest, {...(condition === 'if-absent' ? {ifNoneMatch: '*'} : {}), ...(signal ? {signal} : {})})
        return outcome.kind === 'stored' ? 'stored' : 'taken'
      } catch (err) {
        if (signal?.aborted || !(err instanceof RegistryError) || !UNSEEN_REFERENCE_CODES.some((code) => err.hasCode(code))) throw err
        if (attempt >= MANIFEST_PUT_RETRY.maxAttempts) {
          throw new Error(`${err.message} (refused ${attempt} times; what it references was checked and copied again before each retry)`, {cause: err})
        }
        await sleep(retryDelayMs(MANIFEST_PUT_RETRY, attempt, null), signal)
        await this.replaceMissing(need, manifest)
      }
    }
  }

  private async placeManifest(need: ManifestNeed, fetched?: FetchedManifest): Promise<void> {
    const {source, target, digest} = need
    const signal = this.options.signal
    // A registry only accepts a manifest whose references it holds, so one already there needs nothing below it.
    if ((await this.client.headManifest(target, digest, signal)) !== null) return
    const manifest = fetched ?? (await this.client.getManifest(source, digest, signal))
    await this.placeReferences(need, manifest)
    await this.putManifest(need, digest, manifest)
  }

  private async placeReferences(need: WalkNeed, manifest: FetchedManifest): Promise<void> {
    if (manifest.parsed.kind === 'index') {
      await mapLimit(childrenOf(manifest), CHILD_CONCURRENCY, (digest) => this.ensureManifest({...need, digest}))
      return
    }
    await Promise.all(blobsOf(manifest).map((blob) => this.placeBlob(need, blob)))
  }

  private async placeBlob(need: WalkNeed, blob: {digest: Digest; size: number}): Promise<void> {
    const outcome = await this.ensure({source: need.source, target: need.target, digest: blob.digest, size: blob.size, onBytes: need.onBytes})
    need.onBlob(outcome, blob.size)
  }

  /** After a refused PUT: forgets what this run believed placed but the target does not show, and places it again. */
  private async replaceMissing(need: WalkNeed, manifest: FetchedManifest): Promise<void> {
    const {target} = need
    const signal = this.options.signal
    if (manifest.parsed.kind === 'index') {
      const missing = await filterAsync(childrenOf(manifest), async (digest) => (await this.client.headManifest(target, digest, signal)) === null)
      for (const digest of missing) this.manifests.delete(keyOf(target, digest))
      await Promise.all(missing.map((digest) => this.ensureManifest({...need, digest})))
      return
    }
    const missing = await filterAsync(blobsOf(manifest), async (blob) => (await headBlob(this.client, target, blob.digest, signal)) === null)
    for (const blob of missing) this.done.delete(keyOf(target, blob.digest))
    await Promise.all(missing.map((blob) => this.placeBlob(need, blob)))
  }

  private async place(need: BlobNeed): Promise<BlobOutcome> {
    const {target, digest} = need
    const signal = this.options.signal
    if ((await headBlob(this.client, target, digest, signal)) !== null) {
      this.remember(target, digest)
      return 'present'
    }
    const registryKey = `${target.registry}@${digest}`
    const first = this.firstUpload.get(registryKey)
    if (first) await first.catch(() => {})
    const from = this.holders.get(registryKey)?.find((r) => r.repository !== target.repository)
    if (from) {
      // A registry that errors on the mount request itself gets a plain upload instead (as ggcr does).
      const start = await startUpload(this.client, target, {mount: {digest, from}, ...(signal ? {signal} : {})}).catch((err: unknown) => {
        if (signal?.aborted) throw err
        return null
      })
      if (start === null) {
        await this.upload(need, null)
        return 'uploaded'
      }
      if (start.kind === 'mounted') {
        this.remember(target, digest)
        return 'mounted'
      }
      // 202: the registry would not mount; the session it opened serves for an ordinary upload.
      await this.upload(need, start.location)
      return 'uploaded'
    }
    const upload = this.upload(need, null)
    if (!this.firstUpload.has(registryKey)) this.firstUpload.set(registryKey, upload)
    await upload
    return 'uploaded'
  }

  /** Streams the blob, retrying the whole transfer (new GET, new session) on temporary failures. */
  private async upload(need: BlobNeed, openSession: string | null): Promise<void> {
    const attempts = this.options.attempts ?? DEFAULT_ATTEMPTS
    let session = openSession
    for (let attempt = 1; ; attempt++) {
      try {
        await this.limiter.run(async () => {
          session ??= await startUploadSession(this.client, need.target, this.options.signal)
          await this.transfer(need, session)
        })
        this.remember(need.target, need.digest)
        return
      } catch (err) {
        if (session) await cancelUpload(this.client, need.target, session)
        session = null
        if (this.options.signal?.aborted || attempt >= attempts || !isTemporary(err)) throw err
        await sleep(retryDelayMs(DEFAULT_RETRY, attempt, err instanceof RegistryError ? err.retryAfter : null), this.options.signal)
      }
    }
  }

  private async transfer(need: BlobNeed, location: string): Promise<void> {
    const response = await getBlob(this.client, need.source, need.digest, this.options.signal)
    if (!response.body) throw new ContentError('DIGEST_MISMATCH', `blob ${need.digest} was served without a body`)
    await finishUpload(this.client, need.target, location, {digest: need.digest, size: need.size, body: verified(response.body, need)}, this.options.signal)
  }

  private remember(target: Repository, digest: Digest): void {
    const key = `${target.registry}@${digest}`
    const list = this.holders.get(key) ?? []
    if (!list.some((r) => r.repository === target.repository)) list.push(target)
    this.holders.set(key, list)
  }
}

async function startUploadSession(client: RegistryClient, target: Repository, signal?: AbortSignal): Promise<string> {
  const start = await startUpload(client, target, {signal})
  if (start.kind !== 'session') throw new Error('unreachable: an upload without mount cannot be mounted')
  return start.location
}

/**
 * Passes the source bytes through while hashing and counting them. Too many bytes error the stream at once;
 * wrong bytes of the right length error it at its end, and the registry, which checks the `?digest=` of the
 * PUT, refuses them anyway (DIGEST_INVALID). Either way wrong bytes are never stored, and the session is
 * cancelled.
 */
function verified(body: ReadableStream<Uint8Array>, need: BlobNeed): ReadableStream<Uint8Array> {
  const hasher = new Bun.CryptoHasher(digestAlgorithm(need.digest))
  let seen = 0
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength
        if (seen > need.size) {
          controller.error(new ContentError('DIGEST_MISMATCH', `blob ${need.digest} is longer than its ${need.size} bytes: refusing it`))
          return
        }
        hasher.update(chunk)
        need.onBytes(chunk.byteLength)
        controller.enqueue(chunk)
      },
      flush(controller) {
        const actual = `${digestAlgorithm(need.digest)}:${hasher.digest('hex')}`
        if (seen !== need.size || actual !== need.digest) {
          controller.error(new ContentError('DIGEST_MISMATCH', `blob ${need.digest} was served with ${seen} bytes hashing to ${actual}: refusing it`))
        }
      },
    }),
  )
}

/** Stores a pending operation under `key`, forgotten again if it fails so that a later need tries afresh. */
function remember<T>(memo: Map<string, Promise<T>>, key: string, pending: Promise<T>): Promise<T> {
  memo.set(key, pending)
  pending.catch(() => memo.get(key) === pending && memo.delete(key))
  return pending
}

function keyOf(target: Repository, digest: Digest): string {
  return `${target.registry}/${target.repository}@${digest}`
}

/** Network failures, temporary statuses and corrupted transfers are worth a fresh attempt. */
function isTemporary(err: unknown): boolean {
  if (err instanceof NetworkError) return err.temporary
  if (err instanceof RegistryError) return TEMPORARY_STATUS.has(err.status) || err.hasCode('BLOB_UPLOAD_UNKNOWN') || err.hasCode('DIGEST_INVALID')
  return err instanceof ContentError || err instanceof TypeError
}
