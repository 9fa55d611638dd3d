import {afterAll, describe, expect, test} from 'bun:test'
import {appendFile, mkdtemp, rm, truncate, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {PlanFile} from '../plan/planfile.ts'
import type {ApplyResult} from './model.ts'
import {readResultFiles, writeResultFile} from './result-file.ts'

const dir = await mkdtemp(join(tmpdir(), 'image-syncer-results-'))
afterAll(() => rm(dir, {recursive: true, force: true}))

const planFile = {
  plan: {createdAt: '2026-01-01T00:00:00Z', definition: {path: 'd.yaml', sha256: `sha256:${'a'.repeat(64)}`}},
  sha256: `sha256:${'c'.repeat(64)}`,
} as PlanFile
const empty: ApplyResult = {entries: [], summary: {copied: 0, alreadyPresent: 0, conflicts: 0, failed: 0, bytes: 0}, durationMs: 5, interrupted: false}

describe('readResultFiles', () => {
  test("reads back what writeResultFile wrote: the plan file's sha256, the shard and the targets it owns", async () => {
    const path = join(dir, 'round.json')
    await writeResultFile(path, planFile, {shard: {index: 2, count: 3}, owns: ['t/a:1']}, empty)
    const [read] = await readResultFiles([path])
    expect(read!.file).toMatchObject({formatVersion: 2, plan: {sha256: planFile.sha256}, shard: {index: 2, count: 3}, owns: ['t/a:1']})
  })

  test('refuses a file that is not a result, and one that is not a file', async () => {
    const broken = join(dir, 'broken.json')
    await writeFile(broken, JSON.stringify({formatVersion: 2, plan: {}}))
    await expect(readResultFiles([broken])).rejects.toThrow(
      /is not a valid result file: \/ must have required properties shard, interrupted, durationMs, entries, owns/,
    )
    await expect(readResultFiles([join(dir, 'absent.json')])).rejects.toThrow(/cannot read result file/)
  })

  test('a foreign format version is quoted cut short, never echoed whole', async () => {
    const path = join(dir, 'huge-version.json')
    await writeFile(path, JSON.stringify({formatVersion: 'x'.repeat(100_000)}))
    const error = await readResultFiles([path]).then(
      () => null,
      (err: unknown) => err as Error,
    )
    expect(error?.message).toContain('is not a result file of this image-syncer')
    expect(error!.message.length).toBeLessThan(1000)
  })

  test('a 200 MiB result file is refused before it is read, and so are files that are too large together', async () => {
    const huge = join(dir, 'huge.json')
    await writeFile(huge, '')
    await truncate(huge, 200 * 1024 * 1024)
    await expect(readResultFiles([huge])).rejects.toThrow(`cannot read result file ${huge}: it is 209715200 bytes, more than the 64 MiB allowed`)
    // Two valid results of 40 MiB each (JSON allows the trailing blanks): each fits, both do not.
    const halves = await Promise.all(
      [1, 2].map(async (index) => {
        const path = join(dir, `half-${index}.json`)
        await writeResultFile(path, planFile, {shard: {index, count: 2}, owns: []}, empty)
        await appendFile(path, ' '.repeat(40 * 1024 * 1024))
        return path
      }),
    )
    await expect(readResultFiles(halves)).rejects.toThrow(
      /half-2.json: it is \d+ bytes, more than the \d+ bytes allowed \(the result files together may have 64 MiB\)/,
    )
  })
})
