/**
 * The one copy engine: gets manifest trees and blobs from one store's repository into another's, with as
 * little traffic as possible, once per run. Apply copies images with it and signature carrying copies
 * signature artifacts with it; it knows stores only through RepositoryHandle, so a registry and an OCI image
 * layout are sources and targets alike. Blobs: see blob-placement.ts.
 *
 * Manifests: each distinct (target repository, digest) is walked once per run, however many indexes list it and
 * however many entries or signature artifacts reach it (as go-containerregistry and containerd dedupe by digest),
 * so an index DAG that repeats children costs requests linear in its distinct manifests, not in its paths.
 * The shared walk yields the manifest's real size, and each index that lists it checks its own descriptor
 * against that: an entry whose index declares a wrong size fails, alone or not, and no other entry with it.
 * A transfer is counted for the need that started it; every need sharing it counts the blob as present.
 */
import type {Digest} from '../ref/digest.ts'
import type {FetchedManifest} from '../registry/handle.ts'
import {ContentError} from '../registry/errors.ts'
import type {RepositoryHandle} from '../registry/handle.ts'
import {Limiter, mapLimit} from '../transport/limiter.ts'
import {RegistryError} from '../transport/errors.ts'
import {backoff, type Pace, type RetryPolicy} from '../transport/retry.ts'
import {type BlobNeed, type BlobOutcome, BlobPlacement} from './blob-placement.ts'
import {type BlobReference, blobsOf, type ChildReference, childReferencesOf, childrenOf, filterAsync} from './references.ts'
import {remember} from './memo.ts'

interface CopyEngineOptions {
  /** Concurrent blob transfers across the run. */
  transfers: number
  /** Whole-transfer attempts (GET + PUT from the start) for one blob. */
  attempts?: number
  /** The run's pace: the backoff between whole transfers, and the pause before a manifest PUT is tried again. */
  pace: Pace
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
 * link finds it missing (…_UNKNOWN) or empty (DIGEST_INVALID) for a moment. Not isTemporary's verdict (sending
 * the same PUT again is not the remedy, and a reference really missing is not temporary): the PUT is retried only
 * after what it references was looked at and placed again.
 */
const UNSEEN_REFERENCE_CODES: ReadonlySet<string> = new Set(['MANIFEST_BLOB_UNKNOWN', 'BLOB_UNKNOWN', 'MANIFEST_UNKNOWN', 'DIGEST_INVALID'])

/**
 * Such a PUT is tried 4 times within 0.7 s: the other writer's link writes take milliseconds. Its own policy, not
 * the pace's registry backoff (seconds), waited out on the pace.
 */
const MANIFEST_PUT_RETRY: RetryPolicy = {maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000}

export class CopyEngine {
  private readonly limiter: Limiter
  private readonly blobs: BlobPlacement
  /** Source trees read through once this run (layouts only, see verifySource), by source name and digest. */
  private readonly checked = new Map<string, Promise<void>>()
  /** Manifests placed (or being placed) this run, by target name and digest: their real size (null: unknown). */
  private readonly manifests = new Map<string, Promise<number | null>>()

  constructor(private readonly options: CopyEngineOptions) {
    this.limiter = new Limiter(options.transfers)
    this.blobs = new BlobPlacement(this.limiter, options.attempts ?? DEFAULT_ATTEMPTS, options.pace, options.signal)
  }

  /**
   * Ensures the route's target holds the blob; one call per (repository, digest, size) does the work and gets
   * its outcome, later calls share it and get `present`, so a transfer is counted once however many manifests list it.
   */
  ensureBlob(route: Route, blob: BlobNeed): Promise<BlobOutcome> {
    return this.blobs.ensure({source: route.source, target: route.target, onBytes: (n) => route.tally.bytes(n)}, blob)
  }

  /**
   * Ensures the target holds `manifest` and everything below it: children and blobs first, then the manifest by
   * digest. Given as an index's descriptor (a ChildReference), its size is checked too. `fetched` is the manifest
   * when the caller has already read it or is reading it (saves a GET, or the wait for it after the target's look).
   */
  async ensureManifest(route: Route, manifest: Digest | ChildReference, fetched?: FetchedManifest | Promise<FetchedManifest>): Promise<void> {
    const digest = typeof manifest === 'string' ? manifest : manifest.digest
    const key = keyOf(route.target, digest)
    const size = await (this.manifests.get(key) ?? remember(this.manifests, key, this.placeManifest(route, digest, fetched)))
    if (typeof manifest !== 'string' && size !== null && size !== manifest.size) {
      throw new ContentError('SIZE_MISMATCH', `manifest ${digest} is listed with ${manifest.size} bytes but has ${size}: refusing the index that lists it`)
    }
  }

  /**
   * Places `manifest` as ensureManifest does, with the caller's `put` as its PUT (a referrer's, whose answer says
   * whether the store indexed its subject). It is the one placement of that digest this run, shared with every
   * index that lists it: no index is PUT before it, and no second writer rewrites it meanwhile (distribution
   * rewrites a manifest's link in place, so an index PUT during a second PUT of its child fails). Returns `put`'s
   * answer, or null when the target held the manifest already or another need of this run placed it.
   */
  async ensureManifestWith<T>(route: Route, manifest: FetchedManifest, put: () => Promise<T>): Promise<T | null> {
    const key = keyOf(route.target, manifest.digest)
    const pending = this.manifests.get(key)
    if (pending) {
      await pending
      return null
    }
    let answer: T | null = null
    await remember(
      this.manifests,
      key,
      this.placeManifest(route, manifest.digest, manifest, async () => {
        answer = await put()
      }),
    )
    return answer
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
      // `await` in the callback too: without it Biome's noFloatingPromises takes mapLimit's results for promises.
      await mapLimit(childrenOf(manifest), CHILD_CONCURRENCY, async (child) => await this.verifySource(source, await source.getManifest(child, {signal})))
      return
    }
    await Promise.all(blobsOf(manifest).map((blob) => this.limiter.run(async () => drain(await source.getBlob(blob.digest, {signal, size: blob.size})))))
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
        const outcome = await route.target.putManifest(reference, manifest, {
          ...(condition === 'if-absent' ? {ifNoneMatch: '*'} : {}),
          ...(signal ? {signal} : {}),
        })
        return outcome.kind === 'stored' ? 'stored' : 'taken'
      } catch (err) {
        if (signal?.aborted || !(err instanceof RegistryError) || !err.diagnostics.some((d) => UNSEEN_REFERENCE_CODES.has(d.code))) throw err
        if (attempt >= MANIFEST_PUT_RETRY.maxAttempts) {
          throw new Error(`${err.message} (refused ${attempt} times; what it references was checked and copied again before each retry)`, {cause: err})
        }
        await backoff(this.options.pace, MANIFEST_PUT_RETRY, attempt, {signal})
        await this.replaceMissing(route, manifest)
      }
    }
  }

  /** The source's manifest, being read; unless this run places it already, when nobody waits for the read. */
  private readingOf(route: Route, digest: Digest): Promise<FetchedManifest> | undefined {
    if (this.manifests.has(keyOf(route.target, digest))) return undefined
    return route.source.getManifest(digest, {signal: this.options.signal})
  }

  /** The manifest's real size: the target's when it holds it already (null if it does not say), else the source's. */
  private async placeManifest(
    route: Route,
    digest: Digest,
    fetched?: FetchedManifest | Promise<FetchedManifest>,
    put?: () => Promise<void>,
  ): Promise<number | null> {
    const signal = this.options.signal
    // A store only accepts a manifest whose references it holds, so one already there needs nothing below it.
    const reading = fetched === undefined ? null : Promise.resolve(fetched)
    reading?.catch(() => {})
    const head = await route.target.headManifest(digest, {signal})
    if (head !== null) return head.size > 0 ? head.size : null
    const manifest = (await reading) ?? (await route.source.getManifest(digest, {signal}))
    // The children of an index the target lacks: each child's source GET goes with its look, not after it (one
    // round trip instead of two on the chain). A pull the plan counted already (plan/build.ts pullsOf), spent for
    // nothing only for a child the target holds without the index.
    if (manifest.parsed.kind === 'index')
      await mapLimit(childReferencesOf(manifest), CHILD_CONCURRENCY, (child) => this.ensureManifest(route, child, this.readingOf(route, child.digest)))
    else await this.ensureBlobsOf(route, manifest)
    await (put ? put() : this.putManifest(route, digest, manifest))
    return manifest.size
  }

  private async placeBlob(route: Route, blob: BlobReference): Promise<void> {
    route.tally.blob(await this.ensureBlob(route, blob), blob.size)
  }

  /** After a refused PUT: forgets what this run believed placed but the target does not show, and places it again. */
  private async replaceMissing(route: Route, manifest: FetchedManifest): Promise<void> {
    const {target} = route
    const signal = this.options.signal
    if (manifest.parsed.kind === 'index') {
      const missing = await filterAsync(childReferencesOf(manifest), async (child) => (await target.headManifest(child.digest, {signal})) === null)
      for (const child of missing) this.manifests.delete(keyOf(target, child.digest))
      await Promise.all(missing.map((child) => this.ensureManifest(route, child)))
      return
    }
    const missing = await filterAsync(blobsOf(manifest), async (blob) => (await target.headBlob(blob.digest, {signal})) === null)
    for (const blob of missing) this.blobs.forget(target, blob)
    await Promise.all(missing.map((blob) => this.placeBlob(route, blob)))
  }
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _chunk of stream) {
    // Nothing to keep: reading to the end is what verifies (the layout's stream errors on wrong bytes).
  }
}

function keyOf(target: RepositoryHandle, digest: Digest): string {
  return `${target.name}@${digest}`
}
