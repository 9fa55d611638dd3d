import {describe, expect, test} from 'bun:test'
import {DEFAULT_RETRY, parseRetryAfter, type RetryPolicy, retryDelayMs, TEMPORARY_STATUS} from './retry.ts'

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
      const delays = Array.from({length: 500}, () => retryDelayMs(policy, attempt, null))
      const [min, max] = [Math.min(...delays), Math.max(...delays)]
      expect(min).toBeGreaterThanOrEqual(ceiling / 2)
      expect(max).toBeLessThanOrEqual(ceiling)
      // Jittered, not constant: 500 draws spread over most of the range.
      expect(max - min).toBeGreaterThan(ceiling / 4)
    })
  }

  test('Retry-After wins over the backoff', () => {
    expect(retryDelayMs(policy, 1, '0')).toBe(0)
    expect(retryDelayMs(policy, 1, '1')).toBe(1000)
    expect(retryDelayMs({...policy, maxDelayMs: 60_000}, 1, '30')).toBe(30_000)
    expect(retryDelayMs({...policy, maxDelayMs: 60_000}, 1, 'Wed, 21 Oct 2015 07:28:07 GMT', NOW)).toBe(7000)
  })

  test('Retry-After is capped by maxDelayMs', () => {
    expect(retryDelayMs(policy, 1, '3600')).toBe(1000)
    expect(retryDelayMs(policy, 1, 'Thu, 22 Oct 2015 07:28:00 GMT', NOW)).toBe(1000)
  })

  test('an unusable Retry-After falls back to the backoff', () => {
    for (const value of ['soon', '-1']) {
      const delay = retryDelayMs(policy, 3, value)
      expect(delay, `Retry-After: ${value}`).toBeGreaterThanOrEqual(200)
      expect(delay, `Retry-After: ${value}`).toBeLessThanOrEqual(400)
    }
  })

  test('the default policy is bounded', () => {
    let total = 0
    for (let attempt = 1; attempt < DEFAULT_RETRY.maxAttempts; attempt++) {
      const delay = retryDelayMs(DEFAULT_RETRY, attempt, null)
      expect(delay).toBeLessThanOrEqual(DEFAULT_RETRY.maxDelayMs)
      total += delay
    }
    expect(total).toBeLessThanOrEqual(DEFAULT_RETRY.baseDelayMs * (2 ** (DEFAULT_RETRY.maxAttempts - 1) - 1))
  })
})

describe('TEMPORARY_STATUS', () => {
  const cases: {status: number; temporary: boolean}[] = [
    {status: 429, temporary: true},
    {status: 500, temporary: true},
    {status: 502, temporary: true},
    {status: 503, temporary: true},
    {status: 504, temporary: true},
    {status: 408, temporary: true},
    {status: 400, temporary: false},
    {status: 401, temporary: false},
    {status: 403, temporary: false},
    {status: 404, temporary: false},
    {status: 501, temporary: false},
  ]
  for (const {status, temporary} of cases) {
    test(`${status} is ${temporary ? '' : 'not '}retried`, () => {
      expect(TEMPORARY_STATUS.has(status)).toBe(temporary)
    })
  }
})
