import {describe, expect, test} from 'bun:test'
import {type ApplyResult, type EntryOutcome, type EntryResult, summarizeOutcomes} from '../apply/model.ts'
import {formatBlobCounts, formatBytes, formatDuration, renderApplyResult} from './apply.ts'

const D = (c: string) => `sha256:${c.repeat(64)}` as const
const PREFIX = 'eu.gcr.io/kyma-project/external/'
const LONG_MESSAGE =
  'PUT https://eu.gcr.io/v2/kyma-project/external/cypress/included/blobs/uploads/abc: 403 Forbidden: ' +
  'the caller does not have permission to write to this repository; check the service account roles'

function outcome(name: string, result: EntryResult, bytes: number, blobs: [number, number, number], durationMs: number): EntryOutcome {
  return {
    source: `docker.io/${name}`,
    target: `${PREFIX}${name}`,
    sourceDigest: D('a'),
    result,
    bytes,
    blobs: {uploaded: blobs[0], mounted: blobs[1], present: blobs[2]},
    signature: null,
    durationMs,
  }
}

function resultOf(entries: EntryOutcome[], durationMs: number, interrupted = false): ApplyResult {
  return {entries, summary: summarizeOutcomes(entries), durationMs, interrupted}
}

const RESULT = resultOf(
  [
    outcome('bitnami/keycloak-gatekeeper:9.0.3', {kind: 'copied'}, 12_300_000, [3, 1, 2], 1234),
    outcome('library/busybox:1.32.0-v1', {kind: 'already-present'}, 0, [0, 0, 0], 80),
    outcome('bitnami/postgres-exporter:0.11.1', {kind: 'conflict', targetDigest: D('f')}, 0, [0, 0, 0], 120),
    outcome('cypress/included:9.5.0', {kind: 'failed', message: LONG_MESSAGE}, 1_500_000, [1, 0, 0], 61_000),
  ],
  4500,
)

describe('formatBytes', () => {
  test.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1_500_000, '1.5 MB'],
    [3_200_000_000, '3.2 GB'],
    [12_345_678, '12.3 MB'],
    [999_960, '1.0 MB'],
  ])('%d bytes is %s', (n, text) => {
    expect(formatBytes(n)).toBe(text)
  })
})

describe('formatDuration', () => {
  test.each([
    [0, '0.0s'],
    [950, '1.0s'],
    [1234, '1.2s'],
    [4500, '4.5s'],
    [59_940, '59.9s'],
    [61_000, '1m 1s'],
    [3_723_000, '1h 2m 3s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})

test('blob counts name each kind, or a dash when none were touched', () => {
  expect(formatBlobCounts({uploaded: 3, mounted: 1, present: 2})).toBe('3 up, 1 mounted, 2 present')
  expect(formatBlobCounts({uploaded: 0, mounted: 0, present: 0})).toBe('-')
})

describe('renderApplyResult table', () => {
  const text = renderApplyResult(RESULT, 'table')
  const lines = text.split('\n')
  const rowOf = (target: string) => lines.find((line) => line.includes(target) && line.includes('│'))

  test('has the headings and one row per entry, in order', () => {
    for (const heading of ['Source', 'Target', 'Result', 'Bytes', 'Blobs', 'Duration']) expect(lines[1]).toContain(heading)
    const rows = lines.filter((line) => line.includes('│') && RESULT.entries.some((e) => line.includes(e.target)))
    expect(rows.map((row) => RESULT.entries.findIndex((e) => row.includes(e.target)))).toStrictEqual([0, 1, 2, 3])
  })

  test('a copied row shows its result, size, blobs and duration', () => {
    const row = rowOf(`${PREFIX}bitnami/keycloak-gatekeeper:9.0.3`)!
    for (const cell of ['docker.io/bitnami/keycloak-gatekeeper:9.0.3', 'copied', '12.3 MB', '3 up, 1 mounted, 2 present', '1.2s']) {
      expect(row).toContain(cell)
    }
  })

  test('each result kind appears in its row', () => {
    expect(rowOf('busybox')).toContain('already-present')
    expect(rowOf('busybox')).toContain('0 B')
    expect(rowOf('postgres-exporter')).toContain('conflict')
    expect(rowOf('cypress/included')).toContain('failed')
    expect(rowOf('cypress/included')).toContain('1m 1s')
  })

  test('long failure messages are kept out of the table', () => {
    const tableLines = lines.filter((line) => line.includes('│'))
    for (const line of tableLines) expect(line).not.toContain('Forbidden')
    expect(lines).toContain(`  ${PREFIX}cypress/included:9.5.0: ${LONG_MESSAGE}`)
    expect(lines.indexOf('Failed:')).toBeGreaterThan(lines.findLastIndex((line) => line.startsWith('└')))
  })

  test('conflicts are listed with the short digest the target holds', () => {
    expect(lines).toContain(`  ${PREFIX}bitnami/postgres-exporter:0.11.1 holds sha256:ffffffffffff, not overwritten`)
  })

  test('ends with the summary line, and no interrupted line when not interrupted', () => {
    expect(text.endsWith('\nApply: 1 copied, 1 already present, 1 conflict, 1 failed; 13.8 MB transferred in 4.5s.\n')).toBe(true)
    expect(text).not.toContain('Interrupted')
  })

  test('has no colour codes', () => {
    expect(text).not.toContain('\x1b')
  })
})

describe('renderApplyResult table, other runs', () => {
  test('an all-copied run has no failure or conflict section', () => {
    const text = renderApplyResult(resultOf([outcome('a:1', {kind: 'copied'}, 1000, [1, 0, 0], 10)], 10), 'table')
    expect(text).not.toContain('Failed:')
    expect(text).not.toContain('Conflicts:')
    expect(text).toContain('Apply: 1 copied, 0 already present, 0 conflicts, 0 failed; 1.0 kB transferred in 0.0s.\n')
  })

  test('an interrupted run says to apply again, after the summary', () => {
    const entries = [outcome('a:1', {kind: 'copied'}, 2_000_000, [2, 0, 0], 900), outcome('b:1', {kind: 'failed', message: 'interrupted'}, 0, [0, 0, 0], 5)]
    const text = renderApplyResult(resultOf(entries, 950, true), 'table')
    expect(text.endsWith('1 failed; 2.0 MB transferred in 1.0s.\nInterrupted: run apply again to finish.\n')).toBe(true)
  })

  test('an empty run still has its summary', () => {
    const text = renderApplyResult(resultOf([], 0), 'table')
    expect(text).toBe('No images were applied.\nApply: 0 copied, 0 already present, 0 conflicts, 0 failed; 0 B transferred in 0.0s.\n')
  })
})

describe('renderApplyResult json', () => {
  const text = renderApplyResult(RESULT, 'json')

  test('round-trips to the same result', () => {
    expect(JSON.parse(text)).toStrictEqual(RESULT)
  })

  test('is indented data with a final newline, not formatted numbers', () => {
    expect(text.endsWith('}\n')).toBe(true)
    expect(text).toContain('\n  "entries": [')
    expect(text).toContain('"bytes": 12300000')
    expect(text).not.toContain('MB')
  })
})

describe('registry text in the apply result', () => {
  /** What a terminal may act on: C0 but newline, DEL, C1. */
  const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/
  const hostile = resultOf(
    [
      outcome(
        'acme/app:1\x1b[2J',
        {kind: 'failed', message: 'PUT https://r.io/v2/x: DENIED: \x1b]0;pwned\x07\x1b[31mno\x1b[0m\u009b2J\nsecond line\r\n'},
        0,
        [0, 0, 0],
        10,
      ),
    ],
    10,
  )

  test('Failed: lines show escape sequences as text, and a newline cannot start a line of its own', () => {
    const text = renderApplyResult(hostile, 'table')
    expect(text).not.toMatch(RAW_CONTROL)
    expect(text).toContain(`  ${PREFIX}acme/app:1\\x1b[2J: PUT https://r.io/v2/x: DENIED: \\x1b]0;pwned\\x07\\x1b[31mno\\x1b[0m\\x9b2J\n    second line\n`)
  })

  test('JSON keeps the data and escapes what JSON.stringify leaves raw (C1)', () => {
    const text = renderApplyResult(hostile, 'json')
    expect(text).not.toMatch(RAW_CONTROL)
    expect(JSON.parse(text)).toStrictEqual(hostile)
  })
})
