import {describe, expect, test} from 'bun:test'
import {testPace} from '../../test/support/pace.ts'
import {AdaptiveLimiter} from './adaptive-limiter.ts'

/** A limiter on a clock that moves only by advance(). */
function limiter(ceiling: number) {
  const pace = testPace({clock: 'paced'})
  return {limiter: new AdaptiveLimiter(ceiling, pace.now), pace}
}

/** Starts `count` acquisitions; `granted()` says how many have their slot so far. */
async function admitted(l: AdaptiveLimiter, count: number): Promise<{granted: () => number}> {
  let granted = 0
  for (let i = 0; i < count; i++) void l.acquire().then(() => granted++)
  await Promise.resolve()
  await Promise.resolve()
  return {granted: () => granted}
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('AdaptiveLimiter: decrease', () => {
  test('starts at the ceiling and halves on each throttle of a fresh window, down to 1', () => {
    const {limiter: l} = limiter(32)
    const seen = [l.limit]
    for (let k = 0; k < 7; k++) {
      l.throttled(l.sent(), 1000)
      seen.push(l.limit)
    }
    expect(seen).toStrictEqual([32, 16, 8, 4, 2, 1, 1, 1])
  })

  test('attempts in flight together are throttled together: one halving for all of them', () => {
    const {limiter: l} = limiter(32)
    const tickets = Array.from({length: 28}, () => l.sent())
    for (const ticket of tickets) l.throttled(ticket, 1000)
    expect(l.limit).toBe(16)
    // An attempt sent after the halving that is throttled again halves again.
    l.throttled(l.sent(), 1000)
    expect(l.limit).toBe(8)
  })

  test('a lowered limit admits nobody until enough slots are free', async () => {
    const {limiter: l} = limiter(4)
    const first = await admitted(l, 4)
    expect(first.granted()).toBe(4)
    l.throttled(l.sent(), 1000)
    expect(l.limit).toBe(2)
    const later = await admitted(l, 3)
    l.release()
    l.release()
    await settle()
    expect(later.granted()).toBe(0) // 2 still in flight: at the limit
    l.release()
    await settle()
    expect(later.granted()).toBe(1)
    l.release()
    await settle()
    expect(later.granted()).toBe(2) // the last of the first 4 and one of the later ones: at the limit, the third waits
  })

  test('refuses a ceiling that is not a positive integer', () => {
    for (const ceiling of [0, -1, 1.5, Number.NaN]) expect(() => new AdaptiveLimiter(ceiling, () => 0)).toThrow(RangeError)
  })
})

describe('AdaptiveLimiter: increase', () => {
  test('one more slot per window of `limit` answers served, once the last penalty has passed', () => {
    const {limiter: l, pace} = limiter(8)
    l.throttled(l.sent(), 1000)
    l.throttled(l.sent(), 1000)
    expect(l.limit).toBe(2)
    // Served answers within the penalty grow nothing, however many.
    for (let i = 0; i < 10; i++) l.servedOne()
    expect(l.limit).toBe(2)
    pace.advance(1000)
    l.servedOne()
    expect(l.limit).toBe(3)
    // The next step needs a window of 3 served and another penalty's time.
    pace.advance(1000)
    l.servedOne()
    l.servedOne()
    expect(l.limit).toBe(3)
    l.servedOne()
    expect(l.limit).toBe(4)
  })

  test('grows back to the ceiling and never past it', () => {
    const {limiter: l, pace} = limiter(4)
    l.throttled(l.sent(), 10)
    l.throttled(l.sent(), 10)
    expect(l.limit).toBe(1)
    const steps: number[] = []
    for (let i = 0; i < 40; i++) {
      pace.advance(10)
      l.servedOne()
      steps.push(l.limit)
    }
    expect([...new Set(steps)]).toStrictEqual([2, 3, 4])
    expect(steps.at(-1)).toBe(4)
  })

  test('a grown limit admits who was waiting', async () => {
    const {limiter: l, pace} = limiter(2)
    l.throttled(l.sent(), 100)
    const waiting = await admitted(l, 2)
    expect(waiting.granted()).toBe(1)
    pace.advance(100)
    l.servedOne()
    await settle()
    expect(l.limit).toBe(2)
    expect(waiting.granted()).toBe(2)
  })

  test('a throttle after growing halves the grown limit, and waits its own penalty before growing again', () => {
    const {limiter: l, pace} = limiter(16)
    l.throttled(l.sent(), 1000) // 8
    pace.advance(1000)
    for (let i = 0; i < 8; i++) l.servedOne()
    expect(l.limit).toBe(9)
    l.throttled(l.sent(), 5000)
    expect(l.limit).toBe(4)
    pace.advance(4999)
    for (let i = 0; i < 8; i++) l.servedOne()
    expect(l.limit).toBe(4)
    pace.advance(1)
    l.servedOne()
    expect(l.limit).toBe(5)
  })
})
