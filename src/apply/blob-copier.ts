/**
 * Gets blobs into target repositories with as little traffic as possible: already there (HEAD) → nothing;
 * held by another target repository this run → cross-repository mount; otherwise a streamed GET → PUT, hashed
 * while streaming and abandoned when the bytes are not the blob's. Each blob moves once per target registry
 * per run: concurrent needs of one digest wait for the first upload, then mount from it.
 */
import {type Digest, digestAlgorithm} from '../ref/digest.ts'
import {cancelUpload, finishUpload, getBlob, headBlob, startUpload} from '../registry/blobs.ts'
import type {RegistryClient, Repository} from '../registry/client.ts'
import {ContentError} from '../registry/errors.ts'
import {Limiter} from '../transport/limiter.ts'
import {NetworkError, RegistryError} from '../transport/errors.ts'
import {DEFAULT_RETRY, retryDelayMs, sleep, TEMPORARY_STATUS} from '../transport/retry.ts'

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

/** Three attempts: a reset mid-stream or a flaky upload is retried twice before the entry fails. */
const DEFAULT_ATTEMPTS = 3

export class BlobCopier {
  private readonly limiter: Limiter
  private readonly done = new Map<string, Promise<BlobOutcome>>()
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

  /** Ensures `need.target` holds the blob; one call per (repository, digest) does the work, others share it. */
  ensure(need: BlobNeed): Promise<BlobOutcome> {
    const key = `${need.target.registry}/${need.target.repository}@${need.digest}`
    let pending = this.done.get(key)
    if (!pending) {
      pending = this.place(need)
      this.done.set(key, pending)
      pending.catch(() => this.done.get(key) === pending && this.done.delete(key))
    }
    return pending
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

/** Network failures, temporary statuses and corrupted transfers are worth a fresh attempt. */
function isTemporary(err: unknown): boolean {
  if (err instanceof NetworkError) return err.kind !== 'aborted'
  if (err instanceof RegistryError) return TEMPORARY_STATUS.has(err.status) || err.hasCode('BLOB_UPLOAD_UNKNOWN') || err.hasCode('DIGEST_INVALID')
  return err instanceof ContentError || err instanceof TypeError
}
