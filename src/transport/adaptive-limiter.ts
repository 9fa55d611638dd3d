/**
 * Requests in flight to one host, bounded by a limit that follows what the host says (AIMD, as TCP's congestion
 * window): halved when it throttles us (429, or 503 with Retry-After), grown by one per window of answers it
 * served, between 1 and the ceiling (--requests-per-registry). It starts at the ceiling, so a host that never
 * throttles sees exactly the fixed limit.
 */
export class AdaptiveLimiter {
  private current: number
  private active = 0
  private readonly waiting: Array<() => void> = []
  /** Bumped by every decrease: answers to attempts sent before it are of the window already shrunk for. */
  private generation = 0
  private served = 0
  private changedAt = Number.NEGATIVE_INFINITY
  /** The wait the host imposed last time it throttled: a probe above the limit costs that much, so none sooner. */
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
    if (ticket !== this.generation) return
    this.generation++
    this.current = Math.max(1, Math.floor(this.current / 2))
    this.penaltyMs = penaltyMs
    this.changedAt = this.now()
    this.served = 0
  }

  /** The host served an attempt: after `limit` of them, and no sooner than the last penalty, one more slot. */
  servedOne(): void {
    if (this.current >= this.ceiling) return
    this.served++
    if (this.served < this.current || this.now() - this.changedAt < this.penaltyMs) return
    this.current++
    this.changedAt = this.now()
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
