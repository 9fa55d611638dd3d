import {afterAll, describe, expect, test} from 'bun:test'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Plan} from '../plan/model.ts'
import type {ApplyResult, EntryOutcome} from './model.ts'
import {mergeResultFiles, writeResultFile} from './result-file.ts'

const dir = await mkdtemp(join(tmpdir(), 'image-syncer-results-'))
afterAll(() => rm(dir, {recursive: true, force: true}))

const plan = (createdAt = '2026-01-01T00:00:00Z') => ({createdAt, definition: {path: 'd.yaml', sha256: `sha256:${'a'.repeat(64)}`}}) as Plan
const outcome = (target: string, result: EntryOutcome['result'] = {kind: 'copied'}): EntryOutcome => ({source: 's', target, sourceDigest: `sha256:${'b'.repeat(64)}`, result, bytes: 10, blobs: {uploaded: 1, mounted: 0, present: 0}, signature: null, durationMs: 1})
const result = (...entries: EntryOutcome[]): ApplyResult => ({entries, summary: {copied: 0, alreadyPresent: 0, conflicts: 0, failed: 0, bytes: 0}, durationMs: entries.length * 100, interrupted: false})

async function written(name: string, index: number, count: number, r: ApplyResult, p = plan()): Promise<string> {
  const path = join(dir, name)
  await writeResultFile(path, p, {index, count}, r)
  return path
}

describe('mergeResultFiles', () => {
  test('sums the shards, names the missing ones, and lasts as long as the slowest', async () => {
    const one = await written('m1.json', 1, 3, result(outcome('t/a:1'), outcome('t/a:2')))
    const three = await written('m3.json', 3, 3, result(outcome('t/c:1', {kind: 'failed', message: 'boom'})))
    const merged = await mergeResultFiles([three, one])
    expect(merged.shards).toEqual({count: 3, missing: [2]})
    expect(merged.result.summary).toEqual({copied: 2, alreadyPresent: 0, conflicts: 0, failed: 1, bytes: 30})
    expect(merged.result.durationMs).toBe(200)
  })

  test('refuses another plan, another split, a shard twice, and a file that is not a result', async () => {
    const one = await written('r1.json', 1, 2, result(outcome('t/a:1')))
    const other = await written('r2.json', 2, 2, result(), plan('2026-02-02T00:00:00Z'))
    const split = await written('r3.json', 2, 3, result())
    const again = await written('r4.json', 1, 2, result())
    const broken = join(dir, 'broken.json')
    await writeFile(broken, JSON.stringify({formatVersion: 1, plan: {}}))
    await expect(mergeResultFiles([one, other])).rejects.toThrow(/is the result of another plan/)
    await expect(mergeResultFiles([one, split])).rejects.toThrow(/merge one split of the plan only/)
    await expect(mergeResultFiles([one, again])).rejects.toThrow(/are both shard 1\/2/)
    await expect(mergeResultFiles([broken])).rejects.toThrow(/is not a valid result file: \/ must have required properties shard/)
    await expect(mergeResultFiles([join(dir, 'plan.json')])).rejects.toThrow(/cannot read result file/)
    await expect(mergeResultFiles([])).rejects.toThrow(/no result files given/)
  })

  test('a foreign format version is quoted cut short, never echoed whole', async () => {
    const path = join(dir, 'huge-version.json')
    await writeFile(path, JSON.stringify({formatVersion: 'x'.repeat(100_000)}))
    const error = await mergeResultFiles([path]).then(() => null, (err: unknown) => err as Error)
    expect(error?.message).toContain('is not a result file of this image-syncer')
    expect(error!.message.length).toBeLessThan(1000)
  })
})
