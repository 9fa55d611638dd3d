/**
 * One exchange with a registry, attempt after attempt: each waits for its host's gate, is sent, and tells the
 * host's throttle what came back; temporary statuses and network failures are retried with backoff (Retry-After,
 * when sent, says how long). The last response is returned whatever its status.
 */
import type {RateLimitWait} from './rate-limit.ts'
import {backoff, type Pace, parseRetryAfter, retryDelayMs} from './retry.ts'
import {isTemporary, TEMPORARY_STATUS} from './temporary.ts'
import {answerOf, type HostThrottle, type Lease} from './throttle.ts'

export interface RequestEvent {
  method: string
  url: string
  status: number | null
  durationMs: number
  attempt: number
  error?: string
}

/** What the attempts of every exchange share: the transport's pace, sending, events, and the hosts' throttles. */
export interface Attempts {
  pace: Pace
  send(url: string, init: RequestInit): Promise<Response>
  emit(event: RequestEvent): void
  throttleOf(host: string): HostThrottle
  onRateLimited?: ((wait: RateLimitWait) => void) | undefined
}

export interface Exchange {
  /** A factory, so that every attempt sends a fresh body. */
  body?: (() => NonNullable<RequestInit['body']>) | undefined
  maxAttempts: number
  /** Named in rate-limit notices. */
  registry: string
  /** The slot the request runs in, when it runs in one (pings and token exchanges do not). */
  lease?: Lease
}

export async function attempt(using: Attempts, url: string, init: RequestInit, exchange: Exchange): Promise<Response> {
  const {pace} = using
  const method = init.method ?? 'GET'
  const signal = init.signal ?? undefined
  const throttle = using.throttleOf(new URL(url).host)
  let waited: number | undefined
  for (let attempt = 1; ; attempt++) {
    await throttle.pass(signal, waited)
    const ticket = throttle.sent()
    const started = performance.now()
    let response: Response
    try {
      response = await using.send(url, {...init, body: exchange.body?.()})
      using.emit({method, url, status: response.status, durationMs: performance.now() - started, attempt})
    } catch (err) {
      using.emit({method, url, status: null, durationMs: performance.now() - started, attempt, error: err instanceof Error ? err.message : String(err)})
      if (!isTemporary(err) || attempt >= exchange.maxAttempts) throw err
      await backoff(pace, pace.retry, attempt, {signal})
      continue
    }
    // Only the status is known here (the body is unread): OCI codes count where whole transfers start over.
    const temporary = TEMPORARY_STATUS.has(response.status)
    const retryAfter = temporary ? response.headers.get('retry-after') : null
    const delayMs = temporary ? retryDelayMs(pace.retry, attempt, retryAfter, pace.now()) : 0
    const answer = answerOf(response.status, temporary, retryAfter, delayMs, pace.now())
    // Told even on the last attempt: the other requests to the host still honour the hold and the lower limit.
    waited = throttle.answered(ticket, answer) ?? waited
    if (!temporary || attempt >= exchange.maxAttempts) return response
    await response.body?.cancel()
    if (response.status === 429) using.onRateLimited?.({registry: exchange.registry, delayMs, retryAfterMs: parseRetryAfter(retryAfter, pace.now())})
    const pause = () => pace.sleep(delayMs, signal)
    await (answer.kind === 'throttled' && exchange.lease ? exchange.lease.away(pause) : pause())
  }
}
