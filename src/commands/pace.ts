/**
 * The pace of a real run: the registry backoff, pauses on real timers, the wall clock. Made here, by the command,
 * and carried down (connection options, the copy engine, layouts); nothing below commands/ sleeps or reads the
 * clock on its own, so tests hand the same code a pace that waits for nothing (test/support/pace.ts).
 */
import type {Pace, RetryPolicy} from '../transport/retry.ts'

/** 5 attempts spanning ~15 s: rides out a registry restart or a short rate limit without stalling CI for long. */
export const DEFAULT_RETRY: RetryPolicy = {maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000}

export function realPace(): Pace {
  return {retry: DEFAULT_RETRY, sleep, now: Date.now}
}

/** A backoff pause that an interrupt cuts short (already aborted: at once). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal!.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
