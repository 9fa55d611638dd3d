/**
 * Docker Hub's pull accounting as a fault: every manifest GET spends one pull (HEAD is free), manifest answers
 * carry `ratelimit-limit` / `ratelimit-remaining` (`100;w=21600`), and a GET with nothing left is a 429 with
 * Retry-After. `state` stays writable so a test can refill the budget between plan and apply.
 */
import {ociError} from './errors.ts'
import type {FaultSpec} from './faults.ts'

export interface PullLimitState {
  limit: number
  remaining: number
  /** Manifest GETs served (pulls spent). */
  spent: number
}

export function pullLimit(initial: {limit: number; remaining: number; retryAfterSeconds?: number}): FaultSpec & {state: PullLimitState} {
  const state: PullLimitState = {limit: initial.limit, remaining: initial.remaining, spent: 0}
  const window = 21600
  return {
    name: 'pull limit',
    method: ['GET', 'HEAD'],
    path: /\/manifests\/[^/]+$/,
    times: Infinity,
    state,
    action: async (ctx, next) => {
      const headers = () => ({'ratelimit-limit': `${state.limit};w=${window}`, 'ratelimit-remaining': `${state.remaining};w=${window}`})
      if (ctx.method === 'GET' && state.remaining <= 0) {
        return ociError(429, 'TOOMANYREQUESTS', 'You have reached your pull rate limit.', undefined, {
          ...headers(),
          'Retry-After': String(initial.retryAfterSeconds ?? 1),
        })
      }
      const response = await next()
      if (ctx.method === 'GET' && response.ok) {
        state.remaining--
        state.spent++
      }
      const merged = new Headers(response.headers)
      for (const [name, value] of Object.entries(headers())) merged.set(name, value)
      return new Response(ctx.method === 'HEAD' ? null : response.body, {status: response.status, headers: merged})
    },
  }
}
