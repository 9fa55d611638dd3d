/**
 * A pace for tests (src/transport/retry.ts): it waits for nothing and records every pause it was asked for, so a
 * test counts requests and checks the waits (Retry-After honoured: the pause equals the announced delay) instead
 * of measuring time. Its backoff is the real default, so a test sees as many attempts as a run would.
 */
import {DEFAULT_RETRY} from '../../src/commands/pace.ts'
import type {Pace, RetryPolicy} from '../../src/transport/retry.ts'

export interface TestPace extends Pace {
  /** Every pause asked for, in ms, in the order asked. */
  readonly sleeps: number[]
  /** Moves the clock on by `ms` without waiting (a token's lifetime, a lock held for long). */
  advance(ms: number): void
}

/**
 * `clock`: `wall` (default) is the real time, plus what advance() added: a lock held by a writer of the same test
 * is waited for as long as it really holds it. `paced` starts at the real time and moves only by the pauses asked
 * for and by advance(): a wait bounded in time (a lock held by a live stranger) runs out at once.
 */
export function testPace(options: {retry?: RetryPolicy; clock?: 'wall' | 'paced'} = {}): TestPace {
  const sleeps: number[] = []
  const start = Date.now()
  let offset = 0
  const clock = options.clock ?? 'wall'
  return {
    retry: options.retry ?? DEFAULT_RETRY,
    sleeps,
    now: () => (clock === 'wall' ? Date.now() : start) + offset,
    advance: (ms) => {
      offset += ms
    },
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason
      sleeps.push(ms)
      if (clock === 'paced') offset += ms
      // Other work (a writer holding a lock, a server answering) goes on before the retry, as it would while waiting.
      await new Promise((resolve) => setImmediate(resolve))
      if (signal?.aborted) throw signal.reason
    },
  }
}
