/**
 * Copies one plan entry. The order guarantees that no target tag ever points at missing content: blobs before
 * the manifest that lists them, child manifests before their index, every manifest by digest, and the tag
 * last, after one more look that the tag is still absent. Bytes are copied unchanged, so digests are kept.
 */
import type {Descriptor} from '../oci/manifest.ts'
import {type Digest, isDigest} from '../ref/digest.ts'
import {parseReference} from '../ref/reference.ts'
import type {PlanEntry} from '../plan/model.ts'
import type {FetchedManifest, RegistryClient, Repository} from '../registry/client.ts'
import {mapLimit} from '../transport/limiter.ts'
import type {BlobCopier} from './blob-copier.ts'
import {carryAndSign, type SignatureContext, type SignatureReport, verifySource} from './signatures.ts'
import type {BlobCounts, EntryResult} from './model.ts'

export interface EntryContext {
  client: RegistryClient
  blobs: BlobCopier
  signal?: AbortSignal
  /** Every byte streamed, failed attempts included: what the link carried. */
  onProgress: (n: number) => void
  /** Size of each blob this entry uploaded: what the entry added to the target. */
  onUploaded: (n: number) => void
  signatures: SignatureContext
  onSignatures: (report: SignatureReport) => void
}

/** Children of an index copied at once; each child's blobs are bounded by the blob copier. */
const CHILD_CONCURRENCY = 4

/** Layers that registries do not store (Windows foreign layers); they are referenced, never copied. */
const NON_DISTRIBUTABLE = /(foreign|nondistributable)/

export async function copyEntry(entry: PlanEntry, ctx: EntryContext, counts: BlobCounts): Promise<EntryResult> {
  const targetRef = parseReference(entry.target)
  const target: Repository = {registry: targetRef.registry, repository: targetRef.repository}
  const tag = targetRef.tag!
  const source = repositoryOf(entry.sourceRepository)
  const planned = entry.sourceDigest as Digest

  // The plan may be stale: look at the tag right before writing anything.
  const before = await ctx.client.headManifest(target, tag, ctx.signal)
  if (before) return before.digest === planned ? {kind: 'already-present'} : {kind: 'conflict', targetDigest: before.digest}

  // Verified again now, against the digest about to be copied: the plan's verdict is not trusted alone.
  const check = await verifySource(entry, source, ctx.signatures)
  if (check.decision.status === 'failed') return {kind: 'failed', message: `signature check failed, nothing was copied: ${check.decision.reasons.join('; ')}`}

  const top = await copyManifest(source, target, planned, ctx, counts)
  ctx.signal?.throwIfAborted()
  ctx.onSignatures(await carryAndSign(entry, source, target, {digest: top.digest, mediaType: top.mediaType, size: top.size}, check, ctx.signatures))
  ctx.signal?.throwIfAborted()
  // Narrows the window in which another writer could have taken the tag while we copied.
  const now = await ctx.client.headManifest(target, tag, ctx.signal)
  if (now) return now.digest === planned ? {kind: 'already-present'} : {kind: 'conflict', targetDigest: now.digest}
  await ctx.client.putManifest(target, tag, top, ctx.signal)
  return {kind: 'copied'}
}

/** Copies the manifest `digest` and everything below it; returns it for tagging. Always read by digest. */
async function copyManifest(source: Repository, target: Repository, digest: Digest, ctx: EntryContext, counts: BlobCounts): Promise<FetchedManifest> {
  const manifest = await ctx.client.getManifest(source, digest, ctx.signal)
  // A registry only accepts a manifest whose references it holds, so one already there needs nothing below it.
  const existing = await ctx.client.headManifest(target, digest, ctx.signal)
  if (existing) return manifest
  if (manifest.parsed.kind === 'index') {
    await mapLimit(manifest.parsed.index.manifests, CHILD_CONCURRENCY, (child) => copyManifest(source, target, descriptorDigest(child), ctx, counts))
  } else {
    const {config, layers} = manifest.parsed.manifest
    const blobs = [config, ...layers].filter((d) => !(d.urls?.length && NON_DISTRIBUTABLE.test(d.mediaType)))
    await Promise.all(
      blobs.map(async (blob) => {
        const outcome = await ctx.blobs.ensure({source, target, digest: descriptorDigest(blob), size: blob.size, onBytes: ctx.onProgress})
        counts[outcome]++
        if (outcome === 'uploaded') ctx.onUploaded(blob.size)
      }),
    )
  }
  await ctx.client.putManifest(target, digest, manifest, ctx.signal)
  return manifest
}

function descriptorDigest(descriptor: Descriptor): Digest {
  if (!isDigest(descriptor.digest)) throw new Error(`descriptor has an invalid digest "${descriptor.digest}"`)
  return descriptor.digest
}

/** `docker.io/library/busybox` → its registry and repository (the plan stores it fully qualified). */
function repositoryOf(qualified: string): Repository {
  const ref = parseReference(qualified)
  return {registry: ref.registry, repository: ref.repository}
}
