import {describe, expect, test} from 'bun:test'
import {Limiter, mapLimit} from './limiter.ts'

const tick = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Runs `tasks` tasks through `run`, each holding its slot for a few ms; returns the most seen in flight at once. */
async function maxInFlight(run: (task: () => Promise<number>) => Promise<number>, tasks: number): Promise<{max: number; results: number[]}> {
  let active = 0
  let max = 0
  const results = await Promise.all(
    Array.from({length: tasks}, (_, i) =>
      run(async () => {
        active++
        max = Math.max(max, active)
        await tick(i % 3)
        if (i % 4 === 0) await Promise.resolve()
        active--
        return i
      }),
    ),
  )
  return {max, results}
}

describe('Limiter', () => {
  for (const limit of [1, 3, 8]) {
    test(`never runs more than ${limit} at once, and does reach ${limit}`, async () => {
      const limiter = new Limiter(limit)
      const {max, results} = await maxInFlight((task) => limiter.run(task), 40)
      expect(max).toBe(limit)
      expect(results).toStrictEqual(Array.from({length: 40}, (_, i) => i))
    })
  }

  test('a failing task frees its slot and its error reaches the caller', async () => {
    const limiter = new Limiter(2)
    const outcomes = await Promise.allSettled(
      Array.from({length: 10}, (_, i) =>
        limiter.run(async () => {
          await tick(1)
          if (i % 2 === 0) throw new Error(`task ${i} failed`)
          return i
        }),
      ),
    )
    expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => (o as PromiseFulfilledResult<number>).value)).toStrictEqual([1, 3, 5, 7, 9])
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason.message)).toStrictEqual([
      'task 0 failed',
      'task 2 failed',
      'task 4 failed',
      'task 6 failed',
      'task 8 failed',
    ])
    // All slots are free again: `limit` new tasks start at once.
    const {max} = await maxInFlight((task) => limiter.run(task), 6)
    expect(max).toBe(2)
  })

  test('a newcomer does not overtake waiting tasks (first come, first served)', async () => {
    const limiter = new Limiter(1)
    const order: number[] = []
    const runs = [0, 1, 2].map((i) => limiter.run(async () => order.push(i)))
    await Promise.all(runs)
    expect(order).toStrictEqual([0, 1, 2])
  })

  for (const limit of [0, -1, 1.5, Number.NaN]) {
    test(`refuses limit ${limit}`, () => {
      expect(() => new Limiter(limit)).toThrow(RangeError)
    })
  }
})

describe('mapLimit', () => {
  test('keeps input order and bounds concurrency', async () => {
    let active = 0
    let max = 0
    const results = await mapLimit([30, 5, 20, 1, 10, 2], 2, async (ms, i) => {
      active++
      max = Math.max(max, active)
      await tick(ms)
      active--
      return `${i}:${ms}`
    })
    expect(results).toStrictEqual(['0:30', '1:5', '2:20', '3:1', '4:10', '5:2'])
    expect(max).toBe(2)
  })
})
