/**
 * The look at a tag source before a reviewed plan is copied. A tag source's `sourceDigest` is what `plan` saw at
 * the registry and cannot be derived from the definition, so a plan edited to another digest of the same
 * repository passes every other check. One HEAD (free on Docker Hub, unlike a GET) tells whether the tag still
 * resolves to what the plan recorded; when it does not, the plan is stale or was edited, and the entry is refused.
 * A digest-pinned source needs no look: the pin is in the definition (and `apply --definition` checks it).
 */
import type {PlanEntry} from '../plan/model.ts'
import type {Digest} from '../ref/digest.ts'
import {SyncerError} from '../ref/errors.ts'
import {parseReference} from '../ref/reference.ts'
import type {RepositoryHandle} from '../registry/handle.ts'

/** `refuse` (default): a source tag that moved since the plan fails its entry; `allow` (--allow-moved-sources): copy the recorded digest. */
export type MovedSources = 'refuse' | 'allow'

/**
 * What the source tag resolved to when planned: the digest copied, or for a platform picked out of an index and
 * for a platform subset, the source index the plan recorded.
 */
export function recordedTagDigest(entry: PlanEntry): Digest {
  const {selection} = entry
  if (selection.kind === 'whole') return entry.sourceDigest as Digest
  return (selection.indexDigest ?? entry.sourceDigest) as Digest
}

/** The source's tag, for an entry read by tag; null for a digest-pinned source. */
export function sourceTagOf(entry: PlanEntry): string | null {
  const ref = parseReference(entry.source)
  return ref.digest === undefined ? ref.tag ?? null : null
}

/** Throws SourceMovedError unless `tag` at `source` still resolves to what the plan recorded for `entry`. */
export async function checkSourceTag(entry: PlanEntry, tag: string, source: RepositoryHandle, signal?: AbortSignal): Promise<void> {
  const recorded = recordedTagDigest(entry)
  const now = await source.headManifest(tag, {signal})
  if (now?.digest === recorded) return
  const where = `${entry.sourceRepository}:${tag}`
  const found = now ? `now resolves to ${now.digest}` : 'no longer exists'
  throw new SourceMovedError(`${where} ${found}, not the ${recorded} this plan recorded: a stale or edited plan, nothing was copied; plan again, or pass --allow-moved-sources to copy the recorded digest`)
}

class SourceMovedError extends SyncerError {
  override readonly name = 'SourceMovedError'
  readonly category = 'content' as const
  readonly code = 'SOURCE_TAG_MOVED'
}
