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

  test('the attempts in flight together are one window, shrunk once: halved, or to what the host served of it', () => {
    const refuse = (refused: number) => {
      const {limiter: l} = limiter(32)
      const tickets = Array.from({length: 32}, () => l.sent())
      for (const ticket of tickets.slice(0, refused)) l.throttled(ticket, 1000)
      return l
    }
    expect(refuse(1).limit).toBe(16)
    expect(refuse(10).limit).toBe(16)
    expect(refuse(28).limit).toBe(4) // the host served 4 of the 32 at once
    expect(refuse(32).limit).toBe(1)
    // An attempt of the next window refused shrinks again; one of the window before, no more.
    const l = refuse(10)
    const next = l.sent()
    l.throttled(next, 1000)
    expect(l.limit).toBe(8)
    l.throttled(0, 1000)
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
  /** Throttles `refused` of a window of `limit` attempts, on a penalty of `penaltyMs`. */
  const refuse = (l: AdaptiveLimiter, refused: number, penaltyMs: number) => {
    const tickets = Array.from({length: l.limit}, () => l.sent())
    for (const ticket of tickets.slice(0, refused)) l.throttled(ticket, penaltyMs)
  }
  const serve = (l: AdaptiveLimiter, n: number) => {
    for (let i = 0; i < n; i++) l.servedOne()
  }

  test('one more slot per window of `limit` served, quickly up to just below where the host throttled', () => {
    const {limiter: l} = limiter(8)
    refuse(l, 1, 1000) // 7 of 8 served: throttled at 8
    expect(l.limit).toBe(4)
    serve(l, 3)
    expect(l.limit).toBe(4)
    serve(l, 1)
    expect(l.limit).toBe(5)
    serve(l, 5)
    expect(l.limit).toBe(6)
    serve(l, 6)
    expect(l.limit).toBe(7)
  })

  test('a probe to where the host throttled waits 8 of its penalties since, then grows on to the ceiling and no further', () => {
    const {limiter: l, pace} = limiter(8)
    refuse(l, 1, 1000)
    serve(l, 4 + 5 + 6)
    expect(l.limit).toBe(7)
    pace.advance(7999)
    serve(l, 100)
    expect(l.limit).toBe(7)
    pace.advance(1)
    serve(l, 1) // a window of 7 was served already
    expect(l.limit).toBe(8)
    serve(l, 100)
    expect(l.limit).toBe(8)
  })

  test('after a failed probe the limit halves, climbs back quickly, and the next probe waits the new penalties', () => {
    const {limiter: l, pace} = limiter(16)
    refuse(l, 12, 1000) // the host took 4 at once
    expect(l.limit).toBe(4)
    serve(l, 50)
    expect(l.limit).toBe(4)
    pace.advance(8000)
    serve(l, 1)
    expect(l.limit).toBe(5)
    refuse(l, 1, 5000) // 5 is one too many
    expect(l.limit).toBe(2)
    serve(l, 2 + 3)
    expect(l.limit).toBe(4)
    pace.advance(39_999)
    serve(l, 50)
    expect(l.limit).toBe(4)
    pace.advance(1)
    serve(l, 1)
    expect(l.limit).toBe(5)
  })

  test('all of a window refused says nothing of the load the host takes: back quickly to just below it', () => {
    const {limiter: l} = limiter(8)
    refuse(l, 8, 1000) // a 503 with Retry-After to everything: down, not loaded
    expect(l.limit).toBe(1)
    serve(l, 1 + 2 + 3 + 4 + 5 + 6)
    expect(l.limit).toBe(7)
  })

  test('a grown limit admits who was waiting', async () => {
    const {limiter: l} = limiter(4)
    refuse(l, 1, 100)
    expect(l.limit).toBe(2)
    const waiting = await admitted(l, 3)
    expect(waiting.granted()).toBe(2)
    serve(l, 2)
    await settle()
    expect(l.limit).toBe(3)
    expect(waiting.granted()).toBe(3)
  })
})
