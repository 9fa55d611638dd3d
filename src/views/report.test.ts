import {describe, expect, test} from 'bun:test'
import type {MergedResults} from '../apply/result-file.ts'
import {renderReport} from './report.ts'

const merged = (missing: number[]): MergedResults => ({
  result: {entries: [], summary: {copied: 0, alreadyPresent: 0, conflicts: 0, failed: 0, bytes: 0}, durationMs: 0, interrupted: false},
  shards: {count: 4, missing},
})

describe('renderReport', () => {
  test('says first whether every shard reported, in the table and in Markdown', () => {
    expect(renderReport(merged([]), 'table')).toEndWith('All 4 shards reported.\n')
    expect(renderReport(merged([2, 4]), 'markdown')).toStartWith('### image-syncer report\n\nMissing shards 2/4, 4/4: no result file')
  })

  test('JSON carries the shards next to the merged result', () => {
    expect(JSON.parse(renderReport(merged([3]), 'json')).shards).toEqual({count: 4, missing: [3]})
  })
})
