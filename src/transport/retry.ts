/**
 * When and how long to wait before trying again, and the clock and the pause it is measured with. A run's `Pace`
 * is made once by the command (commands/pace.ts) and handed down, so no layer below sleeps or reads the time on
 * its own, and a test can pass a pace that waits for nothing and records what it was asked to wait.
 * Whether a failure is worth another try at all is decided elsewhere, once (temporary.ts).
 */
export interface RetryPolicy {
  /** Total attempts, the first one included. */
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export interface Pace {
  /** The backoff of registry requests, and of the retries built on them (resumed reads, chunks, whole transfers). */
  readonly retry: RetryPolicy
  /** A backoff pause that an interrupt cuts short: rejects with the signal's reason (already aborted: at once). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Milliseconds since the epoch: HTTP dates (Retry-After), token expiry, how long a lock has been waited for. */
  now(): number
}

/** Exponential backoff with full jitter, unless the server said how long (Retry-After), which wins, capped. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter: string | null, now: number): number {
  const told = parseRetryAfter(retryAfter, now)
  if (told !== null) return Math.min(told, policy.maxDelayMs)
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}

/** Waits out attempt `attempt` of `policy` on `pace` (Retry-After, when the server sent one, says how long). */
export function backoff(
  pace: Pace,
  policy: RetryPolicy,
  attempt: number,
  options: {retryAfter?: string | null; signal?: AbortSignal | undefined} = {},
): Promise<void> {
  return pace.sleep(retryDelayMs(policy, attempt, options.retryAfter ?? null, pace.now()), options.signal)
}

/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms RFC 9110 still asks us to accept. */
const HTTP_DATE =
  /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/

/** Retry-After is either delta-seconds or an HTTP date, which is read against `now`. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  // Only an HTTP date may be parsed as one: Date.parse also accepts "-1" or "1.5", which would skip the backoff.
  if (!HTTP_DATE.test(trimmed)) return null
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
