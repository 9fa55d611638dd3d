/**
 * A host's Retry-After, honoured by every request to it: one answer that says "come back in 30 s" holds all the
 * attempts that would go out meanwhile, not only the retry of the request that got it. Waits on the run's Pace.
 */
import type {Pace} from './retry.ts'

export class HoldGate {
  private until = Number.NEGATIVE_INFINITY

  constructor(private readonly pace: Pace) {}

  /** Holds every attempt for `ms` from now (a later hold already set stays); returns when this hold ends. */
  hold(ms: number): number {
    const until = this.pace.now() + ms
    this.until = Math.max(this.until, until)
    return until
  }

  /**
   * Waits until the host's hold is over. `waited`: the end of a hold the caller has already waited out itself (the
   * request that got the Retry-After), so it waits only for what was added since. A hold set while waiting is
   * waited out too; the loop ends on holds seen, not on the clock, so a clock that does not move cannot spin it.
   */
  async pass(signal?: AbortSignal, waited = Number.NEGATIVE_INFINITY): Promise<void> {
    for (let seen = waited; this.until > seen; ) {
      const until = this.until
      const ms = until - this.pace.now()
      if (ms <= 0) return
      await this.pace.sleep(ms, signal)
      seen = until
    }
  }
}
