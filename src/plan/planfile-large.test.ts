import {afterAll, describe, expect, test} from 'bun:test'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {largePlan} from '../../test/support/large-plan.ts'
import {planInconsistencies} from './consistency.ts'
import {PlanFileError, readPlanFile, writePlanFile} from './planfile.ts'

const dir = await mkdtemp(join(tmpdir(), 'image-syncer-large-plan-'))
afterAll(() => rm(dir, {recursive: true, force: true}))

describe('a 5,000-entry plan file', () => {
  const plan = largePlan({count: 5000, repositories: 100})

  test('reads back as written, and holds together', async () => {
    const path = join(dir, 'large.plan.json')
    await writePlanFile(path, plan)
    const read = (await readPlanFile(path)).plan
    expect(read).toEqual(plan)
    expect(planInconsistencies(read)).toEqual([])
  })

  test('one bad entry deep in it is still found, and named by its position', async () => {
    const path = join(dir, 'bad.plan.json')
    const entries = plan.entries.map((e, i) => (i === 4321 ? {...e, sourceDigest: 'sha256:nope'} : e))
    await writePlanFile(path, {...plan, entries})
    const error = await readPlanFile(path).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PlanFileError)
    expect((error as PlanFileError).code).toBe('INVALID')
    expect((error as PlanFileError).message).toContain('/entries/4321/sourceDigest')
  })
})
