import {describe, expect, test} from 'bun:test'
import {type ApplyResult, type EntryOutcome, type EntryResult, summarizeOutcomes} from '../apply/model.ts'
import {commonPrefix, renderApplyScreen} from './apply-screen.ts'
import {widthOf} from './screen.ts'

const D = (c: string) => `sha256:${c.repeat(64)}` as const
const PREFIX = '127.0.0.1:15002/external/'
const MESSAGE =
  'PUT https://127.0.0.1:15002/v2/external/cypress/included/blobs/uploads/abc: 403 Forbidden: the caller does not have permission to write to this repository'

function outcome(name: string, digest: string, result: EntryResult): EntryOutcome {
  return {
    source: name,
    target: `${PREFIX}${name}`,
    sourceDigest: D(digest),
    result,
    bytes: 12_300_000,
    blobs: {uploaded: 3, mounted: 1, present: 2},
    signature: null,
    durationMs: 1234,
  }
}

const entries = [
  outcome('bitnami/postgresql:16.4.0-debian-12-r1', 'a', {kind: 'copied'}),
  outcome('library/busybox:1.32.0-v1', 'b', {kind: 'already-present'}),
  outcome('bitnami/postgres-exporter:0.11.1', 'c', {kind: 'conflict', targetDigest: D('f')}),
  outcome('cypress/included:9.5.0', 'd', {kind: 'failed', message: MESSAGE}),
]
const RESULT: ApplyResult = {entries, summary: summarizeOutcomes(entries), durationMs: 4500, interrupted: false}
const SYMBOLS: Record<EntryResult['kind'], string> = {copied: '+', 'already-present': '=', conflict: '!', failed: 'x'}

describe.each([60, 80, 120, 200])('an apply on a %d-column terminal', (width) => {
  const text = renderApplyScreen(RESULT, {width, colour: 'none'}, 'list')
  const lines = text.split('\n')

  test('no line is wider than the terminal', () => {
    for (const line of lines) expect(widthOf(line), line).toBeLessThanOrEqual(width)
  })

  test('every entry: its source, relative target, outcome and short digest', () => {
    expect(lines[0]).toStartWith(`Into ${PREFIX}`)
    for (const e of RESULT.entries) {
      const symbol = SYMBOLS[e.result.kind]
      const at = lines.findIndex((line) => line.startsWith(`  ${symbol} ${e.target.slice(PREFIX.length)}`))
      expect(at, e.target).toBeGreaterThan(0)
      expect(lines.slice(0, at).findLast((line) => line.startsWith(`${symbol} `))).toStartWith(`${symbol} ${e.result.kind}: `)
      expect(text).toContain(e.source)
      expect(text).toContain(e.sourceDigest.slice(0, 19))
    }
  })

  test('a failure keeps its whole message, wrapped; a conflict names both digests', () => {
    // Wrapped lines, and a URL longer than a line broken where it must be: the same text without the line breaks.
    const unbroken = (t: string) => t.replace(/\s+/g, '')
    expect(unbroken(text)).toContain(unbroken(MESSAGE))
    expect(text).toContain(`sha256:${'f'.repeat(12)}`)
    expect(text.replace(/\n(?!$)/g, ' ')).toEndWith('Apply: 1 copied, 1 already present, 1 conflict, 1 failed; 49.2 MB transferred in 4.5s.\n')
  })
})

test('already-present entries are folded into a count by default', () => {
  const text = renderApplyScreen(RESULT, {width: 80, colour: 'none'}, 'fold')
  expect(text).toContain('= already-present: 1 entry, left as they were (--show-present lists them)\n')
  expect(text).not.toContain('library/busybox')
})

test('the common prefix ends at a slash and leaves every name', () => {
  expect(commonPrefix([`${PREFIX}a/b:1`, `${PREFIX}a/c:1`, `${PREFIX}d:1`])).toBe(PREFIX)
  expect(commonPrefix([`${PREFIX}a/b:1`])).toBe(`${PREFIX}a/`)
  expect(commonPrefix([])).toBe('')
})
