/**
 * The look at a tag source before a reviewed plan is copied. A tag source's `sourceDigest` is what `plan` saw at
 * the registry and cannot be derived from the definition, so a plan edited to another digest of the same
 * repository passes every other check. One HEAD (free on Docker Hub, unlike a GET) tells whether the tag still
 * resolves to what the plan recorded; when it does not, the plan is stale or was edited, and the entry is refused.
 * A digest-pinned source needs no look: the pin is in the definition (and `apply --definition` checks it).
 * Which entries look, and at what, is decoded with the entry (step.ts `Looks`).
 */
import type {Digest} from '../ref/digest.ts'
import {SyncerError} from '../ref/errors.ts'
import type {RepositoryHandle} from '../registry/handle.ts'

/** `refuse` (default): a source tag that moved since the plan fails its entry; `allow` (--allow-moved-sources): copy the recorded digest. */
export type MovedSources = 'refuse' | 'allow'

/** Throws SourceMovedError unless `tag` at `source` (named `name`) still resolves to the `recorded` digest. */
export async function checkSourceTag(look: {tag: string; recorded: Digest}, name: string, source: RepositoryHandle, signal?: AbortSignal): Promise<void> {
  const {tag, recorded} = look
  const now = await source.headManifest(tag, {signal})
  if (now?.digest === recorded) return
  const where = `${name}:${tag}`
  const found = now ? `now resolves to ${now.digest}` : 'no longer exists'
  throw new SourceMovedError(
    `${where} ${found}, not the ${recorded} this plan recorded: a stale or edited plan, nothing was copied; plan again, or pass --allow-moved-sources to copy the recorded digest`,
  )
}

class SourceMovedError extends SyncerError {
  override readonly name = 'SourceMovedError'
  readonly category = 'content' as const
  readonly code = 'SOURCE_TAG_MOVED'
}
