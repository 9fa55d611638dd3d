/**
 * How requests to one host are let out: how many at once, and when. `adaptive` (the default) follows the host:
 * fewer in flight while it throttles (adaptive-limiter.ts), none at all while a Retry-After it sent runs
 * (hold-gate.ts). `fixed`: --requests-per-registry in flight whatever the host says, each throttled request
 * waiting out its own Retry-After in its slot, as before; kept so a benchmark can set the two side by side.
 */
import {AdaptiveLimiter} from './adaptive-limiter.ts'
import {HoldGate} from './hold-gate.ts'
import {Limiter} from './limiter.ts'
import {parseRetryAfter, type Pace} from './retry.ts'

export type HostConcurrency = 'adaptive' | 'fixed'

/** A request's hold on one of its host's slots. */
export interface Lease {
  /** Waits out a throttled attempt's pause; an adaptive host has the slot back meanwhile. */
  away(wait: () => Promise<void>): Promise<void>
}

/**
 * What a host answered one attempt. `throttled`: a 429, or a 503 that said when to come back; `waitMs` is the
 * pause before the retry, `holdsAll` whether it came from Retry-After (then every request waits it out).
 * `served`: any other answer but a temporary failure. `failed`: a temporary failure, which says nothing of load.
 */
export type Answer = {kind: 'throttled'; waitMs: number; holdsAll: boolean} | {kind: 'served'} | {kind: 'failed'}

export function answerOf(status: number, temporary: boolean, retryAfter: string | null, waitMs: number, now: number): Answer {
  const holdsAll = parseRetryAfter(retryAfter, now) !== null
  if (status === 429 || (status === 503 && holdsAll)) return {kind: 'throttled', waitMs, holdsAll}
  return temporary ? {kind: 'failed'} : {kind: 'served'}
}

export interface HostThrottle {
  /** Runs a request in one of the host's slots. */
  run<T>(task: (lease: Lease) => Promise<T>): Promise<T>
  /** Before every attempt: waits while the host holds all requests. `waited`: a hold this request waited itself. */
  pass(signal?: AbortSignal, waited?: number): Promise<void>
  /** Marks an attempt sent; the ticket goes back with its answer. */
  sent(): number
  /** Learns from an answer; returns when the hold it set ends (for its own request's `pass`), or null. */
  answered(ticket: number, answer: Answer): number | null
}

export function hostThrottle(kind: HostConcurrency, ceiling: number, pace: Pace): HostThrottle {
  return kind === 'fixed' ? fixedThrottle(new Limiter(ceiling)) : new AdaptiveThrottle(new AdaptiveLimiter(ceiling, pace.now), new HoldGate(pace))
}

const IN_SLOT: Lease = {away: (wait) => wait()}

function fixedThrottle(limiter: Limiter): HostThrottle {
  return {
    run: (task) => limiter.run(() => task(IN_SLOT)),
    pass: () => Promise.resolve(),
    sent: () => 0,
    answered: () => null,
  }
}

class AdaptiveThrottle implements HostThrottle {
  constructor(
    private readonly limiter: AdaptiveLimiter,
    private readonly gate: HoldGate,
  ) {}

  async run<T>(task: (lease: Lease) => Promise<T>): Promise<T> {
    await this.limiter.acquire()
    let held = true
    const lease: Lease = {
      // The slot goes back while the throttled attempt waits, and the retry queues again under the lowered limit.
      away: async (wait) => {
        this.limiter.release()
        held = false
        // An interrupted wait throws past the queue: there is no slot to take again only to give it back.
        await wait()
        await this.limiter.acquire()
        held = true
      },
    }
    try {
      return await task(lease)
    } finally {
      if (held) this.limiter.release()
    }
  }

  pass(signal?: AbortSignal, waited?: number): Promise<void> {
    return this.gate.pass(signal, waited)
  }

  sent(): number {
    return this.limiter.sent()
  }

  answered(ticket: number, answer: Answer): number | null {
    if (answer.kind === 'served') this.limiter.servedOne()
    if (answer.kind !== 'throttled') return null
    this.limiter.throttled(ticket, answer.waitMs)
    return answer.holdsAll ? this.gate.hold(answer.waitMs) : null
  }
}
