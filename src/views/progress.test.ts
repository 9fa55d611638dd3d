import {describe, expect, test} from 'bun:test'
import type {EntryOutcome, EntryResult, ProgressEvent} from '../apply/model.ts'
import {createProgressReporter, type ProgressMode, progressModeFor} from './progress.ts'

const PREFIX = 'eu.gcr.io/kyma-project/external/'
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/

function finished(name: string, result: EntryResult): ProgressEvent {
  const outcome: EntryOutcome = {
    source: `docker.io/${name}`,
    target: `${PREFIX}${name}`,
    sourceDigest: `sha256:${'a'.repeat(64)}`,
    result,
    bytes: 0,
    blobs: {uploaded: 0, mounted: 0, present: 0},
    signature: null,
    durationMs: 1,
  }
  return {kind: 'entry-finished', outcome}
}

/** A reporter with a fake clock and every write collected. */
function harness(mode: ProgressMode, intervalMs?: number) {
  const clock = {t: 1_000_000}
  const out: string[] = []
  const reporter = createProgressReporter({mode, write: (text) => out.push(text), intervalMs, now: () => clock.t})
  return {clock, out, reporter, text: () => out.join('')}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('progressModeFor: quiet wins, then terminal or not', () => {
  expect(progressModeFor({quiet: true, isTTY: true})).toBe('quiet')
  expect(progressModeFor({quiet: true, isTTY: false})).toBe('quiet')
  expect(progressModeFor({quiet: false, isTTY: true})).toBe('tty')
  expect(progressModeFor({quiet: false, isTTY: false})).toBe('lines')
})

describe('tty mode', () => {
  test('draws one status line in place, with counts, bytes, rate and current target', () => {
    const {clock, out, reporter, text} = harness('tty')
    reporter.onEvent({kind: 'started', entries: 10})
    clock.t += 2000
    reporter.onEvent({kind: 'entry-started', target: `${PREFIX}bitnami/keycloak:9.0.3`})
    reporter.onEvent({kind: 'bytes', bytes: 24_200_000})
    clock.t += 150
    reporter.onEvent({kind: 'bytes', bytes: 1_800_000})
    const last = out.at(-1)!
    expect(last.startsWith('\r')).toBe(true)
    expect(last.endsWith('\x1b[K')).toBe(true)
    // 26 MB over 2.15 s.
    // The line keeps to 100 characters: the target is cut at its start, where every target looks the same.
    expect(last).toBe('\r[....................] 0/10 26.0 MB, 12.1 MB/s  copying …yma-project/external/bitnami/keycloak:9.0.3\x1b[K')
    expect(last.length).toBeLessThanOrEqual(100 + '\r\x1b[K'.length)
    expect(last).toContain('bitnami/keycloak:9.0.3')
    expect(text()).not.toContain('\n')
    reporter.stop()
    expect(text().endsWith('\n')).toBe(true)
    expect(text().split('\n')).toHaveLength(2)
  })

  test('redraws at most every 100 ms of the clock', () => {
    const {clock, out, reporter} = harness('tty')
    reporter.onEvent({kind: 'started', entries: 3})
    for (let i = 0; i < 20; i++) reporter.onEvent({kind: 'bytes', bytes: 1000})
    expect(out).toHaveLength(1)
    clock.t += 100
    reporter.onEvent({kind: 'bytes', bytes: 1000})
    expect(out).toHaveLength(2)
    expect(out[1]).toBe('\r[....................] 0/3 21.0 kB, 210.0 kB/s\x1b[K')
    reporter.stop()
  })

  test('stop draws the final state before ending the line', () => {
    const {out, reporter} = harness('tty')
    reporter.onEvent({kind: 'started', entries: 1})
    reporter.onEvent({kind: 'entry-started', target: `${PREFIX}a:1`})
    reporter.onEvent(finished('a:1', {kind: 'copied'}))
    reporter.stop()
    expect(out.slice(-2)).toStrictEqual(['\r[####################] 1/1 0 B, 0 B/s\x1b[K', '\n'])
  })

  test('a long target is cut at its start to keep the line at 100 characters', () => {
    const {clock, out, reporter} = harness('tty')
    const target = `${PREFIX}${'very-long-repository-name/'.repeat(5)}image:1.2.3`
    reporter.onEvent({kind: 'started', entries: 1})
    clock.t += 100
    reporter.onEvent({kind: 'entry-started', target})
    const visible = out.at(-1)!.replace('\r', '').replace('\x1b[K', '')
    expect(visible).toHaveLength(100)
    expect(visible).toContain('copying …')
    expect(visible.endsWith('/image:1.2.3')).toBe(true)
    reporter.stop()
  })

  test('prints nothing at all, not even a newline, when no event came', () => {
    const {out, reporter} = harness('tty')
    reporter.stop()
    expect(out).toStrictEqual([])
  })
})

describe('lines mode', () => {
  test('prints a progress line every interval while running, and a final one on stop', async () => {
    const {clock, out, reporter} = harness('lines', 20)
    reporter.onEvent({kind: 'started', entries: 10})
    reporter.onEvent({kind: 'bytes', bytes: 45_200_000})
    for (let i = 0; i < 3; i++) reporter.onEvent(finished(`img${i}:1`, {kind: 'copied'}))
    clock.t += 4000
    // Waits for two ticks of the 20 ms interval however loaded the machine is (bounded by the test's timeout).
    while (out.length < 2) await sleep(10)
    const periodic = out.length
    expect(periodic).toBeGreaterThanOrEqual(2)
    expect(out[0]).toBe('progress: 3/10 entries, 45.2 MB transferred, 11.3 MB/s\n')
    reporter.stop()
    expect(out).toHaveLength(periodic + 1)
    expect(out.at(-1)).toBe('progress: 3/10 entries, 45.2 MB transferred, 11.3 MB/s\n')
    await sleep(60)
    expect(out).toHaveLength(periodic + 1)
  })

  test('tells failures and conflicts as they happen, in plain text', () => {
    const {out, reporter} = harness('lines', 60_000)
    reporter.onEvent({kind: 'started', entries: 3})
    reporter.onEvent(finished('a:1', {kind: 'copied'}))
    expect(out).toStrictEqual([])
    reporter.onEvent(finished('b:1', {kind: 'failed', message: 'upload refused: \x1b[31m403 Forbidden\x1b[0m\r'}))
    reporter.onEvent(finished('c:1', {kind: 'conflict', targetDigest: `sha256:${'f'.repeat(64)}`}))
    // Escape sequences are shown, not obeyed: visible as `\x1b`, so nothing the registry sent is hidden either.
    expect(out[0]).toBe(`failed: ${PREFIX}b:1: upload refused: \\x1b[31m403 Forbidden\\x1b[0m\\x0d\n`)
    expect(out[1]).toBe(`conflict: ${PREFIX}c:1 holds sha256:ffffffffffff, not overwritten\n`)
    reporter.stop()
    // No periodic line was printed, so stop adds none.
    expect(out).toHaveLength(2)
    for (const line of out) expect(line.slice(0, -1)).not.toMatch(CONTROL)
  })

  test('periodic lines have no control characters', async () => {
    const {out, reporter} = harness('lines', 20)
    reporter.onEvent({kind: 'started', entries: 2})
    reporter.onEvent({kind: 'entry-started', target: `${PREFIX}a:1`})
    await sleep(50)
    reporter.stop()
    expect(out.length).toBeGreaterThan(0)
    for (const line of out) {
      expect(line).toStartWith('progress: 0/2 entries, 0 B transferred')
      expect(line.slice(0, -1)).not.toMatch(CONTROL)
    }
  })
})

describe('quiet mode', () => {
  test('prints nothing, whatever happens', async () => {
    const {out, reporter} = harness('quiet', 10)
    reporter.onEvent({kind: 'started', entries: 2})
    reporter.onEvent({kind: 'entry-started', target: `${PREFIX}a:1`})
    reporter.onEvent({kind: 'bytes', bytes: 5000})
    reporter.onEvent(finished('a:1', {kind: 'failed', message: 'boom'}))
    await sleep(30)
    reporter.stop()
    expect(out).toStrictEqual([])
  })
})
