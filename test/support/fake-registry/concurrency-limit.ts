/**
 * A registry that throttles by load, as a small or shared one does: while `limit` matching requests are in
 * flight, the next one is refused at once with 429 + Retry-After. `serviceMs` holds each served request that
 * long (inside the count), so requests overlap as they would at a registry across a network. `state` counts what
 * happened, for a test or a benchmark to compare clients by.
 */
import {ociError} from './errors.ts'
import type {FaultSpec, Where} from './faults.ts'

export interface ConcurrencyLimitState {
  inFlight: number
  /** The most served at once (never above the limit). */
  peak: number
  served: number
  /** 429s sent. */
  throttled: number
}

export function concurrencyLimit(
  options: {limit: number; retryAfterSeconds?: number; serviceMs?: number},
  where: Where = {},
): FaultSpec & {state: ConcurrencyLimitState} {
  const state: ConcurrencyLimitState = {inFlight: 0, peak: 0, served: 0, throttled: 0}
  return {
    name: `throttle above ${options.limit} in flight`,
    times: Number.POSITIVE_INFINITY,
    ...where,
    state,
    action: async (_ctx, next) => {
      if (state.inFlight >= options.limit) {
        state.throttled++
        return ociError(429, 'TOOMANYREQUESTS', `more than ${options.limit} requests in flight`, undefined, {
          'Retry-After': String(options.retryAfterSeconds ?? 1),
        })
      }
      state.inFlight++
      state.peak = Math.max(state.peak, state.inFlight)
      try {
        if (options.serviceMs) await Bun.sleep(options.serviceMs)
        const response = await next()
        state.served++
        return response
      } finally {
        state.inFlight--
      }
    },
  }
}
