import {describe, expect, test} from 'bun:test'
import {retryDelayMs} from '../transport/retry.ts'
import {DEFAULT_RETRY, realPace} from './pace.ts'

describe('the real pace', () => {
  test('the default policy is bounded', () => {
    let total = 0
    for (let attempt = 1; attempt < DEFAULT_RETRY.maxAttempts; attempt++) {
      const delay = retryDelayMs(DEFAULT_RETRY, attempt, null, Date.now())
      expect(delay).toBeLessThanOrEqual(DEFAULT_RETRY.maxDelayMs)
      total += delay
    }
    expect(total).toBeLessThanOrEqual(DEFAULT_RETRY.baseDelayMs * (2 ** (DEFAULT_RETRY.maxAttempts - 1) - 1))
  })

  test('a pause ends at once, with the reason, when its signal is aborted (before or during it)', async () => {
    const pace = realPace()
    const before = new AbortController()
    before.abort(new Error('already'))
    await expect(pace.sleep(60_000, before.signal)).rejects.toThrow('already')
    const during = new AbortController()
    const pause = pace.sleep(60_000, during.signal)
    during.abort(new Error('interrupted'))
    await expect(pause).rejects.toThrow('interrupted')
  })

  test('a pause without a signal resolves', async () => {
    await expect(realPace().sleep(1)).resolves.toBeUndefined()
  })
})
