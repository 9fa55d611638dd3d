/**
 * Requests in flight to one host, bounded by a limit that follows what the host says (AIMD, as TCP's congestion
 * window): halved when it throttles us (429, or 503 with Retry-After), grown by one per window of answers it
 * served (`limit` of them), between 1 and the ceiling (--requests-per-registry). It starts at the ceiling, so a
 * host that never throttles sees exactly the fixed limit.
 *
 * The attempts in flight together are one window, halved once. When more than half of a window is refused, the
 * host served only the rest of it at once, and the limit drops to that: 28 refusals of 32 in flight go to 4 in one
 * Retry-After, where halving alone would take three.
 *
 * Growing back to just below where the host throttled is safe and quick. Going on from there probes, and a probe
 * that fails costs every request to the host a Retry-After, so one comes only after PROBE_PENALTIES of them have
 * passed since the host throttled: a host that throttles at a fixed load loses about 1/9 of the run to holds.
 */
const PROBE_PENALTIES = 8

export class AdaptiveLimiter {
  private current: number
  private active = 0
  private readonly waiting: Array<() => void> = []
  /** Bumped by every decrease: answers to attempts sent before it are of the window already shrunk for. */
  private generation = 0
  /** The limit when the current window was first refused, and how many of its attempts were refused. */
  private windowLimit = 0
  private refused = 0
  private served = 0
  /** The limit the host last throttled at, and when; the wait it imposed then (what a failed probe costs). */
  private throttledAt = Number.POSITIVE_INFINITY
  private throttledTime = Number.NEGATIVE_INFINITY
  private penaltyMs = 0

  constructor(
    readonly ceiling: number,
    private readonly now: () => number,
  ) {
    if (!Number.isInteger(ceiling) || ceiling < 1) throw new RangeError(`ceiling must be a positive integer, got ${ceiling}`)
    this.current = ceiling
  }

  /** How many may be in flight now. */
  get limit(): number {
    return this.current
  }

  /** Takes a slot, first come first served; a lowered limit lets nobody in until enough have left. */
  acquire(): Promise<void> {
    if (this.waiting.length === 0 && this.active < this.current) {
      this.active++
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve))
  }

  release(): void {
    this.active--
    this.admit()
  }

  /** Marks an attempt sent; its ticket tells later whether its answer belongs to a window already shrunk. */
  sent(): number {
    return this.generation
  }

  /**
   * The host throttled the attempt of `ticket`: halve the limit, once per window (the attempts in flight together
   * are throttled together, and one halving answers them all). `penaltyMs`: the wait it imposed.
   */
  throttled(ticket: number, penaltyMs: number): void {
    if (ticket === this.generation) {
      this.generation++
      this.windowLimit = this.current
      this.refused = 0
      this.throttledTime = this.now()
      this.penaltyMs = penaltyMs
      this.served = 0
    } else if (ticket !== this.generation - 1) {
      return
    }
    this.refused++
    const accepted = this.windowLimit - this.refused
    // All refused says nothing of the load the host takes (it is down, or out of budget): the hold answers that.
    this.throttledAt = accepted > 0 ? accepted + 1 : this.windowLimit
    this.current = Math.max(1, Math.min(this.current, Math.floor(this.windowLimit / 2), accepted))
  }

  /** The host served an attempt: after a window of them, one more slot (where the host throttled: see above). */
  servedOne(): void {
    if (this.current >= this.ceiling) return
    this.served++
    if (this.served < this.current) return
    const probe = this.current + 1 >= this.throttledAt
    if (probe && this.now() - this.throttledTime < PROBE_PENALTIES * this.penaltyMs) return
    this.current++
    this.served = 0
    this.admit()
  }

  private admit(): void {
    while (this.active < this.current && this.waiting.length > 0) {
      this.active++
      this.waiting.shift()!()
    }
  }
}
