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

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
