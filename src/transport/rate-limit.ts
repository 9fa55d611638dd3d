/**
 * What registries announce about their pull budget (`ratelimit-limit` / `ratelimit-remaining`, as Docker Hub sends
 * them on every answer, HEAD included), kept per registry so a plan can record what apply will have left.
 */

/** What a registry's `ratelimit-limit` / `ratelimit-remaining` headers announced (Docker Hub: `100;w=21600`). */
export interface RateLimit {
  limit: number | null
  remaining: number | null
}

/** A 429 we are about to wait out: who said it, how long we wait, and what Retry-After asked (null: absent). */
export interface RateLimitWait {
  registry: string
  delayMs: number
  retryAfterMs: number | null
}

export class RateLimits {
  private readonly byRegistry = new Map<string, RateLimit>()

  /** The budget `registry` announced; the lowest remaining count seen, as concurrent answers arrive out of order. */
  get(registry: string): RateLimit | null {
    return this.byRegistry.get(registry) ?? null
  }

  note(registry: string, headers: Headers): void {
    const limit = rateLimitCount(headers.get('ratelimit-limit'))
    const remaining = rateLimitCount(headers.get('ratelimit-remaining'))
    if (limit === null && remaining === null) return
    const known = this.byRegistry.get(registry)
    this.byRegistry.set(registry, {
      limit: limit ?? known?.limit ?? null,
      remaining: remaining === null ? (known?.remaining ?? null) : Math.min(remaining, known?.remaining ?? remaining),
    })
  }
}

/** The count at the head of a `ratelimit-*` value (`100;w=21600` → 100); null when absent or not a count. */
function rateLimitCount(value: string | null): number | null {
  const match = value === null ? null : /^\s*(\d+)/.exec(value)
  return match ? Number(match[1]) : null
}
