import {describe, expect, test} from 'bun:test'
import type {MergedResults} from '../apply/merge-results.ts'
import {renderReport} from './report.ts'

const merged = (missing: number[], unaccounted = 0, plan: string | null = 'plan.json'): MergedResults => ({
  result: {entries: [], summary: {copied: 0, alreadyPresent: 0, conflicts: 0, failed: 0, bytes: 0}, durationMs: 0, interrupted: false},
  shards: {count: 4, missing, unaccounted},
  plan,
})

describe('renderReport', () => {
  test('says first whether every shard reported, in the table and in Markdown', () => {
    expect(renderReport(merged([]), 'table')).toEndWith('All 4 shards reported.\n')
    expect(renderReport(merged([2, 4]), 'markdown')).toStartWith('### image-syncer report\n\nMissing shards 2/4, 4/4: no result file')
  })

  test('JSON carries the shards next to the merged result', () => {
    expect(JSON.parse(renderReport(merged([3], 7), 'json'))).toMatchObject({shards: {count: 4, missing: [3], unaccounted: 7}, plan: 'plan.json'})
  })

  test('says how many entries of the plan have no outcome, and when the plan was not consulted', () => {
    expect(renderReport(merged([4], 12), 'table')).toEndWith('(run them again). 12 entries of the plan have no outcome.\n')
    expect(renderReport(merged([], 0, null), 'table')).toEndWith('All 4 shards reported. Not checked against the plan (--unchecked).\n')
  })
})
