/**
 * Copies one plan entry. The order guarantees that no target tag ever points at missing content: blobs before
 * the manifest that lists them, child manifests before their index, every manifest by digest (each once per run,
 * see BlobCopier), and the tag last, create-only where the registry allows it. Bytes are copied unchanged, so
 * digests are kept.
 */
import type {Digest} from '../ref/digest.ts'
import {parseReference} from '../ref/reference.ts'
import type {PlanEntry} from '../plan/model.ts'
import type {FetchedManifest, RegistryClient, Repository} from '../registry/client.ts'
import type {BlobCopier, WalkNeed} from './blob-copier.ts'
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

  // Read by digest, always: the tag is written from these bytes. Everything below it is copied once per run.
  const top = await ctx.client.getManifest(source, planned, ctx.signal)
  const walk: WalkNeed = {
    source,
    target,
    onBlob: (outcome, size) => {
      counts[outcome]++
      if (outcome === 'uploaded') ctx.onUploaded(size)
    },
    onBytes: ctx.onProgress,
  }
  await ctx.blobs.ensureManifest({...walk, digest: planned}, top)
  ctx.signal?.throwIfAborted()
  ctx.onSignatures(await carryAndSign(entry, source, target, {digest: top.digest, mediaType: top.mediaType, size: top.size}, check, ctx.signatures))
  ctx.signal?.throwIfAborted()
  return writeTag(ctx, walk, tag, top)
}

/**
 * The tag, last. A look right before the PUT narrows the window in which another writer could take the tag;
 * `If-None-Match: *` closes it on registries that honour it (412: someone else wrote it, never overwritten);
 * a look right after catches, on registries that ignore it, a writer whose PUT landed after ours.
 */
async function writeTag(ctx: EntryContext, walk: WalkNeed, tag: string, top: FetchedManifest): Promise<EntryResult> {
  const {target} = walk
  const now = await ctx.client.headManifest(target, tag, ctx.signal)
  if (now) return now.digest === top.digest ? {kind: 'already-present'} : {kind: 'conflict', targetDigest: now.digest}
  const put = await ctx.blobs.putManifest(walk, tag, top, 'if-absent')
  const after = await ctx.client.headManifest(target, tag, ctx.signal)
  if (put === 'taken') {
    if (after) return after.digest === top.digest ? {kind: 'already-present'} : {kind: 'conflict', targetDigest: after.digest}
    return {kind: 'failed', message: `${target.registry}/${target.repository}:${tag} could not be created (the registry answered If-None-Match: * with 412) yet holds nothing now; nothing was overwritten, run apply again`}
  }
  if (after && after.digest !== top.digest) {
    return {kind: 'failed', message: `${target.registry}/${target.repository}:${tag} was written by another writer at the same time: we wrote ${top.digest}, it now holds ${after.digest}; check which one it should hold`}
  }
  return {kind: 'copied'}
}

/** `docker.io/library/busybox` → its registry and repository (the plan stores it fully qualified). */
function repositoryOf(qualified: string): Repository {
  const ref = parseReference(qualified)
  return {registry: ref.registry, repository: ref.repository}
}
