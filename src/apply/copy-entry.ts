/**
 * Copies one plan entry, as decoded (step.ts), and only orchestrates: stale check → verify the source → copy the
 * image (the run's CopyEngine) → carry signatures → sign → tag. The order guarantees that no target tag ever
 * points at missing content: blobs before the manifest that lists them, child manifests before their index,
 * every manifest by digest, and the tag last, create-only where the store allows it. Bytes are copied unchanged,
 * so digests are kept.
 */
import type {CopyEngine, Route} from '../copy/engine.ts'
import type {FetchedManifest} from '../registry/handle.ts'
import type {Stores} from '../registry/handle.ts'
import {childrenOf} from '../copy/references.ts'
import {explainRefusal} from '../registry/refusals.ts'
import {subsetManifest} from './subset.ts'
import {attestPresent, carryAndSign, type SignatureRun, verifySource} from './signatures.ts'
import {checkSourceTag} from './source-tag.ts'
import type {CopyStep} from './step.ts'
import type {BlobCounts, EntryOutcome, EntryResult} from './model.ts'

/**
 * What an entry waits for once its content is in the target by digest, before anything that names it (its
 * signatures carried, its tag): open from the start in apply, whose whole plan is checked before anything is sent;
 * in sync, which starts copying entries while others are still being planned, open only once the whole plan is
 * made and nothing refuses it (a conflict, a failure, a short pull budget).
 */
export type TagGate = {kind: 'open'} | {kind: 'refused'}

/** What every entry of one apply run shares. */
export interface ApplyRun {
  stores: Stores
  engine: CopyEngine
  signatures: SignatureRun
  tags: Promise<TagGate>
  signal?: AbortSignal
  /** Every byte streamed, failed attempts included: what the link carried (progress, not accounting). */
  onBytes: (n: number) => void
}

/** What copying one entry did: its result, what it moved, and what happened about signatures. */
export type EntryCopy = Pick<EntryOutcome, 'result' | 'bytes' | 'blobs' | 'signature'>

/** Never throws: a failure is the entry's result, with what it moved before failing. */
export async function copyEntry(step: CopyStep, run: ApplyRun): Promise<EntryCopy> {
  const copy = nothingCopied()
  try {
    copy.result = await copyInto(step, run, copy)
  } catch (err) {
    copy.result = failure(err, run.signal, step)
  }
  return copy
}

/** A to-copy entry that could not be decoded (step.ts `unreadable`) fails as it would have once started. */
export function unreadableEntry(error: unknown, signal?: AbortSignal): EntryCopy {
  return {...nothingCopied(), result: failure(error, signal)}
}

function nothingCopied(): EntryCopy {
  return {result: {kind: 'already-present'}, bytes: 0, blobs: {uploaded: 0, mounted: 0, present: 0}, signature: null}
}

async function copyInto(step: CopyStep, run: ApplyRun, copy: EntryCopy): Promise<EntryResult> {
  const route: Route = {
    source: run.stores.repository({registry: step.source.registry, repository: step.source.repository}),
    target: run.stores.repository({registry: step.target.registry, repository: step.target.repository}),
    tally: tallyInto(copy.blobs, copy, run.onBytes),
  }
  const {tag} = step.target
  const planned = step.digest
  const {looks} = step

  // A reviewed plan may be stale or edited: look at the target tag, and at the source tag, before writing anything.
  if (looks.kind !== 'none') {
    // Both looks at once (no round trip added); the source's verdict matters only when there is something to copy.
    const sourceLook = looks.kind === 'target-and-source' ? checkSourceTag(looks, step.source.name, route.source, run.signal) : Promise.resolve()
    sourceLook.catch(() => {})
    const before = await route.target.headManifest(tag, {signal: run.signal})
    if (before && before.digest !== planned) return {kind: 'conflict', targetDigest: before.digest}
    if (before && step.signatures.provenance === null) return {kind: 'already-present'}
    if (before) {
      // Present, and provenance is asked for: the digest gets the statement it lacks, after the source verifies.
      const check = await verifySource(step, route.source, run.signatures, (await subsetOf(step, route, run))?.kept)
      if (check.decision.status === 'failed')
        return {kind: 'failed', message: `signature check failed, no provenance was attached: ${check.decision.reasons.join('; ')}`}
      copy.signature = await attestPresent(step, route, before, check, run.signatures)
      return {kind: 'already-present'}
    }
    await sourceLook
  }

  // A platform subset is an index we write: computed from the source index and checked against the plan
  // first, since its kept manifests are what the signatures must vouch for.
  const subset = await subsetOf(step, route, run)

  // Verified again now, against the digest about to be copied: the plan's verdict is not trusted alone.
  const check = await verifySource(step, route.source, run.signatures, subset?.kept)
  if (check.decision.status === 'failed') return {kind: 'failed', message: `signature check failed, nothing was copied: ${check.decision.reasons.join('; ')}`}

  // Read by digest, always: the tag is written from these bytes. Everything below it is copied once per run.
  // Read while the target is asked whether it holds it: the tag needs the bytes either way.
  const reading = subset ? Promise.resolve(subset.manifest) : route.source.getManifest(planned, {signal: run.signal})
  reading.catch(() => {})
  // A subset's new index is not in the source, but every manifest and blob below it is: read through all the same.
  if (route.source.location.kind === 'layout') await run.engine.verifySource(route.source, await reading)
  await run.engine.ensureManifest(route, planned, reading)
  const top = await reading
  run.signal?.throwIfAborted()
  // Content by digest names nothing and overwrites nothing; what follows does, so it waits for the whole run.
  if ((await run.tags).kind === 'refused') return {kind: 'failed', message: 'not tagged: the run was refused before anything was tagged'}
  // A subset's signatures are its children's: the index is new, and unsigned unless `sign:` signs it.
  const carried = subset ? childrenOf(top) : [planned]
  copy.signature = await carryAndSign(step, route, {digest: top.digest, mediaType: top.mediaType, size: top.size}, check, run.engine, run.signatures, carried)
  run.signal?.throwIfAborted()
  return writeTag(run, route, tag, top)
}

const subsetOf = (step: CopyStep, route: Route, run: ApplyRun) =>
  step.content.kind === 'platforms' ? subsetManifest(step.content, route.source, run.signal) : Promise.resolve(null)

/**
 * The tag, last. A look right before the PUT narrows the window in which another writer could take the tag;
 * `If-None-Match: *` closes it on stores that honour it (412: someone else wrote it, never overwritten);
 * a look right after catches, on registries that ignore it, a writer whose PUT landed after ours.
 */
async function writeTag(run: ApplyRun, route: Route, tag: string, top: FetchedManifest): Promise<EntryResult> {
  const {target} = route
  const now = await target.headManifest(tag, {signal: run.signal})
  if (now) return now.digest === top.digest ? {kind: 'already-present'} : {kind: 'conflict', targetDigest: now.digest}
  const put = await run.engine.putManifest(route, tag, top, 'if-absent')
  const after = await target.headManifest(tag, {signal: run.signal})
  if (put === 'taken') {
    if (after) return after.digest === top.digest ? {kind: 'already-present'} : {kind: 'conflict', targetDigest: after.digest}
    return {
      kind: 'failed',
      message: `${target.name}:${tag} could not be created (the registry answered If-None-Match: * with 412) yet holds nothing now; nothing was overwritten, run apply again`,
    }
  }
  if (after && after.digest !== top.digest) {
    return {
      kind: 'failed',
      message: `${target.name}:${tag} was written by another writer at the same time: we wrote ${top.digest}, it now holds ${after.digest}; check which one it should hold`,
    }
  }
  return {kind: 'copied'}
}

/** Counts each blob the entry needed by what it took; bytes uploaded are what the entry added to the target. */
function tallyInto(counts: BlobCounts, copy: EntryCopy, onBytes: (n: number) => void): Route['tally'] {
  return {
    blob: (outcome, size) => {
      counts[outcome]++
      if (outcome === 'uploaded') copy.bytes += size
    },
    bytes: onBytes,
  }
}

function failure(err: unknown, signal?: AbortSignal, step?: CopyStep): EntryResult {
  if (signal?.aborted) return {kind: 'failed', message: 'interrupted before it finished; nothing was tagged'}
  const explained = step ? explainRefusal(err, step.target) : null
  return {kind: 'failed', message: explained ?? (err instanceof Error ? err.message : String(err))}
}
