import {describe, expect, test} from 'bun:test'
import {testPace} from '../../test/support/pace.ts'
import {backoff, parseRetryAfter, type RetryPolicy, retryDelayMs} from './retry.ts'

const NOW = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')

describe('parseRetryAfter', () => {
  const cases: {value: string | null; want: number | null}[] = [
    {value: '1', want: 1000},
    {value: '0', want: 0},
    {value: ' 120 ', want: 120_000},
    {value: 'Wed, 21 Oct 2015 07:28:05 GMT', want: 5000},
    {value: 'Wed, 21 Oct 2015 07:30:00 GMT', want: 120_000},
    // A date in the past means "now", never a negative wait.
    {value: 'Wed, 21 Oct 2015 07:27:00 GMT', want: 0},
    // Junk is ignored (null), so the caller falls back to its own backoff instead of retrying at once.
    {value: 'soon', want: null},
    {value: '3 seconds', want: null},
    {value: '12abc', want: null},
    {value: '-1', want: null},
    {value: '1.5', want: null},
    {value: '', want: null},
    {value: '   ', want: null},
    {value: null, want: null},
  ]
  for (const {value, want} of cases) {
    test(`${JSON.stringify(value)} → ${want}`, () => {
      expect(parseRetryAfter(value, NOW)).toBe(want)
    })
  }
})

describe('retryDelayMs', () => {
  const policy: RetryPolicy = {maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000}

  // Attempt n waits between half and all of min(maxDelayMs, baseDelayMs * 2^(n-1)).
  const ceilings: {attempt: number; ceiling: number}[] = [
    {attempt: 1, ceiling: 100},
    {attempt: 2, ceiling: 200},
    {attempt: 3, ceiling: 400},
    {attempt: 4, ceiling: 800},
    {attempt: 5, ceiling: 1000},
    {attempt: 9, ceiling: 1000},
  ]
  for (const {attempt, ceiling} of ceilings) {
    test(`attempt ${attempt}: jitter within [${ceiling / 2}, ${ceiling}]`, () => {
      const delays = Array.from({length: 500}, () => retryDelayMs(policy, attempt, null, NOW))
      const [min, max] = [Math.min(...delays), Math.max(...delays)]
      expect(min).toBeGreaterThanOrEqual(ceiling / 2)
      expect(max).toBeLessThanOrEqual(ceiling)
      // Jittered, not constant: 500 draws spread over most of the range.
      expect(max - min).toBeGreaterThan(ceiling / 4)
    })
  }

  test('Retry-After wins over the backoff', () => {
    expect(retryDelayMs(policy, 1, '0', NOW)).toBe(0)
    expect(retryDelayMs(policy, 1, '1', NOW)).toBe(1000)
    expect(retryDelayMs({...policy, maxDelayMs: 60_000}, 1, '30', NOW)).toBe(30_000)
    expect(retryDelayMs({...policy, maxDelayMs: 60_000}, 1, 'Wed, 21 Oct 2015 07:28:07 GMT', NOW)).toBe(7000)
  })

  test('Retry-After is capped by maxDelayMs', () => {
    expect(retryDelayMs(policy, 1, '3600', NOW)).toBe(1000)
    expect(retryDelayMs(policy, 1, 'Thu, 22 Oct 2015 07:28:00 GMT', NOW)).toBe(1000)
  })

  test('an unusable Retry-After falls back to the backoff', () => {
    for (const value of ['soon', '-1']) {
      const delay = retryDelayMs(policy, 3, value, NOW)
      expect(delay, `Retry-After: ${value}`).toBeGreaterThanOrEqual(200)
      expect(delay, `Retry-After: ${value}`).toBeLessThanOrEqual(400)
    }
  })
})

describe('backoff', () => {
  test('sleeps on the pace what retryDelayMs says, Retry-After read on the pace clock', async () => {
    const pace = testPace({clock: 'paced'})
    const policy: RetryPolicy = {maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 60_000}
    // An HTTP date has whole seconds; the paced clock stands still, so the wait is exact.
    const before = pace.now()
    const at = Math.ceil(before / 1000) * 1000 + 4000
    await backoff(pace, policy, 2, {retryAfter: new Date(at).toUTCString()})
    await backoff(pace, policy, 3)
    expect(pace.sleeps).toHaveLength(2)
    expect(pace.sleeps[0]).toBe(at - before)
    // Each pause moved the paced clock on.
    expect(pace.now()).toBe(before + pace.sleeps[0]! + pace.sleeps[1]!)
    expect(pace.sleeps[1]!).toBeGreaterThanOrEqual(200)
    expect(pace.sleeps[1]!).toBeLessThanOrEqual(400)
  })

  test('an aborted signal ends the pause with its reason', async () => {
    const controller = new AbortController()
    controller.abort(new Error('interrupted'))
    const pace = testPace()
    await expect(backoff(pace, {maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1}, 1, {signal: controller.signal})).rejects.toThrow('interrupted')
    expect(pace.sleeps).toStrictEqual([])
  })
})
