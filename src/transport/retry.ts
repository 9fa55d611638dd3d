/**
 * When and how long to wait before trying again. One table decides retryability (as ggcr's error.go does):
 * rate limits, gateway and server errors, and network failures are temporary; everything else is final.
 */
export interface RetryPolicy {
  /** Total attempts, the first one included. */
  maxAttempts: number
  baseDelayMs: number
  maxDelayMs: number
}

/** 5 attempts spanning ~15 s: rides out a registry restart or a short rate limit without stalling CI for long. */
export const DEFAULT_RETRY: RetryPolicy = {maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000}

export const TEMPORARY_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 524])

/** Exponential backoff with full jitter, unless the server said how long (Retry-After), which wins, capped. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter: string | null, now = Date.now()): number {
  const told = parseRetryAfter(retryAfter, now)
  if (told !== null) return Math.min(told, policy.maxDelayMs)
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}

/** IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms RFC 9110 still asks us to accept. */
const HTTP_DATE =
  /^(?:[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  // Only an HTTP date may be parsed as one: Date.parse also accepts "-1" or "1.5", which would skip the backoff.
  if (!HTTP_DATE.test(trimmed)) return null
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

/** A backoff pause that an interrupt cuts short (already aborted: at once). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        reject(signal.reason)
      },
      {once: true},
    )
  })
}
