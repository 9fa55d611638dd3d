import {afterAll, describe, expect, test} from 'bun:test'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {largePlan} from '../../test/support/large-plan.ts'
import type {Plan} from '../plan/model.ts'
import {readPlanFile, writePlanFile} from '../plan/planfile.ts'
import {mergeResultFiles} from './merge-results.ts'
import type {ApplyResult, EntryOutcome} from './model.ts'
import {writeResultFile} from './result-file.ts'
import {type Shard, shardEntries} from './shard.ts'

const dir = await mkdtemp(join(tmpdir(), 'image-syncer-merge-'))
afterAll(() => rm(dir, {recursive: true, force: true}))

const SHARDS = 3
const plan = largePlan({count: 60, repositories: 12, conflictEvery: 0})
const planPath = join(dir, 'plan.json')
await writePlanFile(planPath, plan)
const otherPlanPath = join(dir, 'other.plan.json')
await writePlanFile(otherPlanPath, {...plan, createdAt: '2026-12-01T00:00:00.000Z'})
const checked = {kind: 'plan', path: planPath} as const

const outcomeOf = (e: Plan['entries'][number]): EntryOutcome => ({
  source: e.source,
  target: e.target,
  sourceDigest: e.sourceDigest,
  result: {kind: e.action === 'to-copy' ? 'copied' : 'already-present'},
  bytes: 10,
  blobs: {uploaded: 1, mounted: 0, present: 0},
  signature: null,
  durationMs: 1,
})
const resultOf = (entries: EntryOutcome[], interrupted = false): ApplyResult => ({
  entries,
  summary: {copied: 0, alreadyPresent: 0, conflicts: 0, failed: 0, bytes: 0},
  durationMs: entries.length,
  interrupted,
})

/** What `apply --shard i/K --result` writes for this plan; `edit` changes the outcomes as a forger would. */
async function shardResult(
  index: number,
  options: {from?: string; count?: number; edit?: (entries: EntryOutcome[]) => EntryOutcome[]; interrupted?: boolean; name?: string} = {},
): Promise<string> {
  const planFile = await readPlanFile(options.from ?? planPath)
  const shard: Shard = {index, count: options.count ?? SHARDS}
  const owned = shardEntries(planFile.plan.entries, shard)
  const path = join(dir, options.name ?? `result-${index}-${Math.random().toString(36).slice(2)}.json`)
  await writeResultFile(
    path,
    planFile,
    {shard, owns: owned.map((e) => e.target)},
    resultOf((options.edit ?? ((x) => x))(owned.map(outcomeOf)), options.interrupted),
  )
  return path
}
const allShards = () => Promise.all([1, 2, 3].map((i) => shardResult(i)))

describe('mergeResultFiles against the plan', () => {
  test('every shard of the plan: every entry once, nothing unaccounted', async () => {
    const merged = await mergeResultFiles(await allShards(), checked)
    expect(merged.result.entries).toHaveLength(plan.entries.length)
    expect(merged.shards).toEqual({count: SHARDS, missing: [], unaccounted: 0})
    expect(merged.plan).toBe(planPath)
  })

  test('a missing shard: named, with the number of entries of the plan not in the report', async () => {
    const [one, two] = await allShards()
    const merged = await mergeResultFiles([one!, two!], checked)
    expect(merged.shards).toEqual({count: SHARDS, missing: [3], unaccounted: shardEntries(plan.entries, {index: 3, count: SHARDS}).length})
  })

  test('an interrupted shard: what it did not reach is counted, not refused', async () => {
    const [one, two] = await allShards()
    const three = await shardResult(3, {interrupted: true, edit: (entries) => entries.slice(1)})
    expect((await mergeResultFiles([one!, two!, three], checked)).shards).toEqual({count: SHARDS, missing: [], unaccounted: 1})
  })

  test('refuses a shard of another plan file', async () => {
    const [one, two] = await allShards()
    const foreign = await shardResult(3, {from: otherPlanPath})
    await expect(mergeResultFiles([foreign], checked)).rejects.toThrow(`${foreign} is the result of another plan file`)
    await expect(mergeResultFiles([one!, two!, foreign], checked)).rejects.toThrow(
      new RegExp(`^${foreign} is the result of another plan file \\(sha256:[0-9a-f]{12}…, made 2026-12-01T00:00:00.000Z\\) than ${planPath}`),
    )
    // Without the plan, two results of different plans are still told apart.
    await expect(mergeResultFiles([one!, two!, foreign], {kind: 'unchecked'})).rejects.toThrow(/is the result of another plan \(made 2026-12-01/)
  })

  test('refuses another split of the plan, and one shard twice', async () => {
    const [one, two] = await allShards()
    await expect(mergeResultFiles([one!, await shardResult(2, {count: 4})], checked)).rejects.toThrow(/merge one split of the plan only/)
    await expect(mergeResultFiles([one!, two!, await shardResult(2)], checked)).rejects.toThrow(/are both shard 2\/3/)
  })

  test('refuses a duplicated entry, within one file and across files', async () => {
    const [one, two, three] = await allShards()
    const doubled = await shardResult(1, {edit: (entries) => [...entries, entries[0]!]})
    await expect(mergeResultFiles([doubled, two!, three!], checked)).rejects.toThrow(
      new RegExp(`${doubled} \\(shard 1/3\\) has a second outcome for "${shardEntries(plan.entries, {index: 1, count: 3})[0]!.target}"`),
    )
    // Shard 2 also claims one of shard 3's targets: the first file to carry it keeps it, the second is named.
    const stolen = shardEntries(plan.entries, {index: 3, count: 3})[0]!
    const greedy = await shardResult(2, {edit: (entries) => [...entries, outcomeOf(stolen)]})
    await expect(mergeResultFiles([one!, three!, greedy], checked)).rejects.toThrow(`has a second outcome for "${stolen.target}", also in ${three}`)
  })

  test('refuses an extra entry: of another shard, or of no entry of the plan', async () => {
    const [one, , three] = await allShards()
    const stolen = shardEntries(plan.entries, {index: 3, count: 3})[0]!
    const greedy = await shardResult(2, {edit: (entries) => [...entries, outcomeOf(stolen)]})
    await expect(mergeResultFiles([one!, greedy], checked)).rejects.toThrow(`(shard 2/3) has an outcome for "${stolen.target}", which belongs to shard 3/3`)
    const invented = await shardResult(2, {edit: (entries) => [...entries, {...entries[0]!, target: 'registry.example/mirror/evil:1'}]})
    await expect(mergeResultFiles([one!, invented, three!], checked)).rejects.toThrow(
      'has an outcome for "registry.example/mirror/evil:1", which is not in the plan',
    )
  })

  test('refuses an outcome for another image than the plan copies to that target', async () => {
    const forged = await shardResult(1, {edit: (entries) => entries.map((e, i) => (i === 0 ? {...e, sourceDigest: `sha256:${'e'.repeat(64)}`} : e))})
    await expect(mergeResultFiles([forged], checked)).rejects.toThrow(/but the plan copies sha256:[0-9a-f]{64} there: it is not from an apply of this plan/)
  })

  test('refuses a finished shard without the outcome of one of its entries, naming it', async () => {
    const dropped = shardEntries(plan.entries, {index: 2, count: 3})[0]!
    const short = await shardResult(2, {edit: (entries) => entries.slice(1)})
    await expect(mergeResultFiles([short], checked)).rejects.toThrow(
      `has no outcome for 1 of the ${shardEntries(plan.entries, {index: 2, count: 3}).length} targets its shard owns ("${dropped.target}"), yet says it finished`,
    )
  })

  test('refuses a result of an older version, which does not name its plan file', async () => {
    const path = await shardResult(1)
    const old = JSON.parse(await readFile(path, 'utf8'))
    delete old.owns
    delete old.plan.sha256
    await writeFile(path, JSON.stringify({...old, formatVersion: 1}))
    await expect(mergeResultFiles([path], checked)).rejects.toThrow(
      `${path} was written by an older image-syncer (result format version 1), which does not record the plan it applied`,
    )
    // Without the plan, as before.
    expect((await mergeResultFiles([path], {kind: 'unchecked'})).shards).toEqual({count: SHARDS, missing: [2, 3], unaccounted: 0})
  })
})

describe('mergeResultFiles --unchecked', () => {
  test('checks the files against the targets they say they own', async () => {
    const [one, two, three] = await allShards()
    expect((await mergeResultFiles([one!, two!, three!], {kind: 'unchecked'})).result.entries).toHaveLength(plan.entries.length)
    const stolen = shardEntries(plan.entries, {index: 3, count: 3})[0]!
    const greedy = await shardResult(2, {edit: (entries) => [...entries, outcomeOf(stolen)]})
    await expect(mergeResultFiles([one!, greedy], {kind: 'unchecked'})).rejects.toThrow(`has an outcome for "${stolen.target}", which that shard does not own`)
    await expect(mergeResultFiles([one!, await shardResult(2, {edit: (entries) => entries.slice(1)})], {kind: 'unchecked'})).rejects.toThrow(
      /has no outcome for 1 of the \d+ targets its shard owns/,
    )
  })

  test('no result files at all is one sentence', async () => {
    await expect(mergeResultFiles([], checked)).rejects.toThrow(/no result files given/)
  })
})
