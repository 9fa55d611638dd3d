/**
 * The transport's throttles against a real HTTP server on 127.0.0.1: a host's Retry-After holds every request to
 * it, and its 429s shrink how many go at once, while `fixed` keeps the behaviour from before (each throttled
 * request waits in its own slot). Counted on the test pace and the server's side, never timed.
 */
import {afterEach, describe, expect, test} from 'bun:test'
import {testPace} from '../../test/support/pace.ts'
import type {RetryPolicy} from './retry.ts'
import type {HostConcurrency} from './throttle.ts'
import {Transport} from './transport.ts'

type Answer = {status: number; headers?: Record<string, string>}

/** A server that answers by the request's number (0-based) and path; it holds each 2xx `delayMs`, and counts those in flight. */
function serve(answer: (n: number, path: string) => Answer, delayMs = 0) {
  let n = 0
  const state = {inFlight: 0, peak: 0, statuses: [] as number[]}
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async (req) => {
      const path = new URL(req.url).pathname
      if (path === '/v2/') return new Response('{}')
      const {status, headers} = answer(n++, path)
      state.statuses.push(status)
      if (status >= 300) return new Response(null, {status, headers})
      state.inFlight++
      state.peak = Math.max(state.peak, state.inFlight)
      if (delayMs) await Bun.sleep(delayMs)
      state.inFlight--
      return new Response('ok', {status, headers})
    },
  })
  servers.push(server)
  const registry = `127.0.0.1:${server.port}`
  return {state, endpoint: {registry, baseUrl: `http://${registry}`, scheme: 'fixed' as const}}
}

const servers: ReturnType<typeof Bun.serve>[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop(true)))
})

function transport(hostConcurrency: HostConcurrency, maxConcurrentPerHost: number, retry: RetryPolicy = {maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 5000}) {
  const pace = testPace({retry})
  return {pace, transport: new Transport({credentials: async () => ({kind: 'anonymous'}), pace, hostConcurrency, maxConcurrentPerHost})}
}

const get = (t: Transport, endpoint: ReturnType<typeof serve>['endpoint'], path: string) =>
  t.request({endpoint, method: 'GET', path, scopes: []}).then((r) => r.status)

describe('Retry-After holds the whole host', () => {
  const onceThrottled = (status: number, headers: Record<string, string>) => serve((n) => (n === 0 ? {status, headers} : {status: 200}))

  test('after a 429 with Retry-After: 2, every request to the host waits what is left of the 2 s, not only the retry', async () => {
    const server = onceThrottled(429, {'retry-after': '2'})
    const {transport: t, pace} = transport('adaptive', 8)
    expect(await get(t, server.endpoint, '/v2/a/manifests/1')).toBe(200)
    expect(pace.sleeps).toStrictEqual([2000])
    expect(await Promise.all(['b', 'c', 'd'].map((repo) => get(t, server.endpoint, `/v2/${repo}/manifests/1`)))).toStrictEqual([200, 200, 200])
    expect(pace.sleeps).toHaveLength(4)
    // The wall clock moved on a little since the hold began, or not at all within a millisecond (the test pace waits for nothing).
    for (const ms of pace.sleeps.slice(1)) expect(ms).toBeWithin(1500, 2001)
    expect(server.state.statuses).toStrictEqual([429, 200, 200, 200, 200])
  })

  test('so does a 503 with Retry-After; a 503 without one holds nobody but its own retry', async () => {
    const held = onceThrottled(503, {'retry-after': '2'})
    const {transport: t, pace} = transport('adaptive', 8)
    await get(t, held.endpoint, '/v2/a/manifests/1')
    await get(t, held.endpoint, '/v2/b/manifests/1')
    expect(pace.sleeps).toHaveLength(2)

    const plain = onceThrottled(503, {})
    const other = transport('adaptive', 8)
    await get(other.transport, plain.endpoint, '/v2/a/manifests/1')
    await get(other.transport, plain.endpoint, '/v2/b/manifests/1')
    expect(other.pace.sleeps).toHaveLength(1) // the backoff of the retry alone
  })

  test('a hold is per host: another registry is not held', async () => {
    const throttled = onceThrottled(429, {'retry-after': '2'})
    const calm = serve(() => ({status: 200}))
    const {transport: t, pace} = transport('adaptive', 8)
    await get(t, throttled.endpoint, '/v2/a/manifests/1')
    await get(t, calm.endpoint, '/v2/a/manifests/1')
    expect(pace.sleeps).toStrictEqual([2000])
  })

  test('fixed: only the request that got the Retry-After waits it', async () => {
    const server = onceThrottled(429, {'retry-after': '2'})
    const {transport: t, pace} = transport('fixed', 8)
    await get(t, server.endpoint, '/v2/a/manifests/1')
    await Promise.all(['b', 'c', 'd'].map((repo) => get(t, server.endpoint, `/v2/${repo}/manifests/1`)))
    expect(pace.sleeps).toStrictEqual([2000])
  })
})

describe("429s shrink the host's concurrency", () => {
  // Of the first 8 requests, 6 are throttled (no Retry-After); the rest are served, each held 30 ms to overlap.
  const burst = () => serve((n) => (n < 6 ? {status: 429} : {status: 200}), 30)
  // A backoff long on the wall clock (the test pace does not wait it): the limit cannot grow back during the test.
  const slow: RetryPolicy = {maxAttempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000}
  const paths = Array.from({length: 8}, (_, i) => `/v2/r${i}/manifests/1`)

  test('adaptive: 6 refused of 8 in flight: the limit drops to the 2 the host served, and the retries go 2 at a time', async () => {
    const server = burst()
    const {transport: t} = transport('adaptive', 8, slow)
    expect(await Promise.all(paths.map((path) => get(t, server.endpoint, path)))).toStrictEqual(Array(8).fill(200))
    expect(server.state.statuses.filter((s) => s === 429)).toHaveLength(6)
    expect(server.state.peak).toBe(2)
  })

  test('fixed: the retries are all served at once', async () => {
    const server = burst()
    const {transport: t} = transport('fixed', 8, slow)
    expect(await Promise.all(paths.map((path) => get(t, server.endpoint, path)))).toStrictEqual(Array(8).fill(200))
    expect(server.state.peak).toBeGreaterThanOrEqual(6)
  })
})
