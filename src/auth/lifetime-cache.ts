/**
 * Values that expire (platform tokens, registry credentials made from them), kept for their lifetime on the run's
 * clock and fetched once however many requests want one at the same time. A value is renewed a little before it
 * expires, so that a request never leaves with a token that dies on the way. A failed fetch is not kept.
 */

export interface Expiring<T> {
  value: T
  /** Milliseconds on the run's clock; `null` never expires (static keys). */
  expiresAt: number | null
}

/** Renew five minutes early, or halfway through a shorter lifetime. */
const EARLY_MS = 5 * 60_000

export class LifetimeCache<T> {
  private readonly entries = new Map<string, {pending: Promise<Expiring<T>>; renewAt: number}>()

  constructor(private readonly now: () => number) {}

  async get(key: string, fetch: () => Promise<Expiring<T>>): Promise<T> {
    const entry = this.entries.get(key)
    if (entry && entry.renewAt > this.now()) return (await entry.pending).value
    const obtainedAt = this.now()
    const pending = fetch()
    const fresh = {pending, renewAt: Number.POSITIVE_INFINITY}
    this.entries.set(key, fresh)
    try {
      const value = await pending
      if (value.expiresAt !== null) {
        const lifetime = Math.max(0, value.expiresAt - obtainedAt)
        fresh.renewAt = obtainedAt + Math.max(lifetime - EARLY_MS, lifetime / 2)
      }
      return value.value
    } catch (error) {
      if (this.entries.get(key) === fresh) this.entries.delete(key)
      throw error
    }
  }
}
