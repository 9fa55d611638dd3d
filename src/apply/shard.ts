/**
 * Splitting one plan over K workers (`apply --shard i/K`). Every entry of a target repository goes to the same
 * shard: cross-repository mounts then stay inside one worker, and no two workers upload into one repository.
 * A repository weighs the bytes its to-copy entries move, as the plan recorded them (plan/model.ts `bytes`:
 * known for single manifests only, since reading an index's children costs pulls); an entry without them is
 * estimated at the plan's mean per known entry, times its platforms (an index copies one image per platform).
 * A plan that records no bytes at all weighs each to-copy entry 1, as before bytes were recorded. Repositories
 * are placed heaviest first on the lightest shard (ties by name): the same plan file always splits the same way.
 */
import type {PlanEntry} from '../plan/model.ts'
import {SyncerError} from '../ref/errors.ts'
import {parseReference} from '../ref/reference.ts'

/** 1-based, as people count and as `--shard 1/4 … 4/4` reads; Kubernetes' 0-based index is converted. */
export interface Shard {
  index: number
  count: number
}

/** The most workers one plan is split over: beyond that, a shard would hold only a repository or two. */
const MAX_SHARDS = 1000

class ShardError extends SyncerError {
  override readonly name = 'ShardError'
  readonly category = 'input' as const
  readonly code = 'BAD_SHARD'
}

/** `3/4` → {index: 3, count: 4}; one sentence for anything else. */
export function parseShard(text: string): Shard {
  const match = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim())
  if (!match) throw new ShardError(`--shard ${JSON.stringify(text)} is not i/K (e.g. 1/4: the first of four shards, counted from 1)`)
  return checkShard(Number(match[1]), Number(match[2]), `--shard ${text}`)
}

/** The shard of a Kubernetes Indexed Job pod: JOB_COMPLETION_INDEX counts from 0. */
export function shardFromEnv(env: Record<string, string | undefined>, count: number): Shard {
  const raw = env.JOB_COMPLETION_INDEX
  if (raw === undefined || !/^\d{1,4}$/.test(raw))
    throw new ShardError(
      `--shard-from-env needs JOB_COMPLETION_INDEX set to 0…${count - 1} (a Kubernetes Indexed Job sets it), got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`,
    )
  if (Number(raw) >= count)
    throw new ShardError(`JOB_COMPLETION_INDEX=${raw} is not below --shards ${count}: the Job's completions and --shards must be the same number`)
  return checkShard(Number(raw) + 1, count, `--shards ${count}`)
}

function checkShard(index: number, count: number, what: string): Shard {
  if (count < 1 || count > MAX_SHARDS) throw new ShardError(`${what}: the number of shards must be 1 to ${MAX_SHARDS}`)
  if (index < 1 || index > count) throw new ShardError(`${what}: shards are counted from 1 to ${count}`)
  return {index, count}
}

/** `registry/repository` of an entry's target, without the tag. */
export function targetRepository(entry: Pick<PlanEntry, 'target'>): string {
  const ref = parseReference(entry.target)
  return `${ref.registry}/${ref.repository}`
}

/** What shard weighing reads of an entry; `bytes` and `platforms` are optional for callers that lack them. */
type Weighed = Pick<PlanEntry, 'target' | 'action'> & Partial<Pick<PlanEntry, 'bytes' | 'platforms'>>

/** Which shard (1-based) each target repository belongs to. */
export function assignRepositories(entries: readonly Weighed[], count: number): Map<string, number> {
  const weightOf = entryWeight(entries)
  const weights = new Map<string, number>()
  for (const entry of entries) {
    const repository = targetRepository(entry)
    weights.set(repository, (weights.get(repository) ?? 0) + (entry.action === 'to-copy' ? weightOf(entry) : 0))
  }
  const ordered = [...weights].sort(([a, wa], [b, wb]) => wb - wa || (a < b ? -1 : a > b ? 1 : 0))
  const loads = Array.from({length: count}, () => 0)
  const assignment = new Map<string, number>()
  for (const [repository, weight] of ordered) {
    // The lightest shard, the lowest-numbered among equals.
    const lightest = loads.reduce((best, load, i) => (load < loads[best]! ? i : best), 0)
    loads[lightest]! += weight
    assignment.set(repository, lightest + 1)
  }
  return assignment
}

/**
 * A to-copy entry's weight: its bytes, or the estimate. Whole numbers only (the mean is rounded, and at least 1
 * so that an unknown entry never weighs nothing), so a repository's sum does not depend on the entry order.
 */
function entryWeight(entries: readonly Weighed[]): (entry: Weighed) => number {
  const known = entries.filter((e) => e.action === 'to-copy' && e.bytes !== undefined).map((e) => e.bytes!)
  if (known.length === 0) return () => 1
  const mean = Math.max(1, Math.round(known.reduce((sum, bytes) => sum + bytes, 0) / known.length))
  return (entry) => entry.bytes ?? mean * Math.max(1, entry.platforms?.length ?? 1)
}

/** The entries of one shard, in plan order. */
export function shardEntries<E extends Weighed>(entries: readonly E[], shard: Shard): E[] {
  const assignment = assignRepositories(entries, shard.count)
  return entries.filter((e) => assignment.get(targetRepository(e)) === shard.index)
}
