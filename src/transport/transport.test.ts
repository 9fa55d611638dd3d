/**
 * The transport against a real HTTP server on 127.0.0.1 (Bun.serve, port 0): authentication flows, retries,
 * timeouts and redaction, as a registry and its token service would exercise them.
 */
import {afterEach, describe, expect, test} from 'bun:test'
import {type TestPace, testPace} from '../../test/support/pace.ts'
import type {Credential} from '../auth/credential.ts'
import {AuthenticationError, NetworkError, RegistryError} from './errors.ts'
import type {RetryPolicy} from './retry.ts'
import {type RateLimitWait, type RequestEvent, Transport, type TransportOptions} from './transport.ts'

const PASSWORD = 'hunter2-SECRET-pw'
const ALICE: Credential = {kind: 'basic', username: 'alice', password: PASSWORD}
const FAST_RETRY: RetryPolicy = {maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20}
const MANIFEST = '/v2/library/busybox/manifests/1'
const PULL_BUSYBOX = 'repository:library/busybox:pull'

interface Hit {
  method: string
  path: string
  query: URLSearchParams
  authorization: string | null
  body: string
}

type Handler = (req: Request, url: URL, server: FakeServer) => Response | Promise<Response>

/** A registry stand-in: every request is recorded, then answered by the test's handler. */
class FakeServer {
  readonly hits: Hit[] = []
  private readonly server: ReturnType<typeof Bun.serve>

  constructor(private readonly handler: Handler) {
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch: async (req) => {
        const url = new URL(req.url)
        this.hits.push({
          method: req.method,
          path: url.pathname,
          query: url.searchParams,
          authorization: req.headers.get('authorization'),
          body: await req.text(),
        })
        return this.handler(req, url, this)
      },
    })
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.server.port}`
  }

  get endpoint() {
    return {registry: `127.0.0.1:${this.server.port}`, baseUrl: this.baseUrl, scheme: 'fixed' as const}
  }

  hitsTo(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path)
  }

  stop(): Promise<void> {
    return this.server.stop(true)
  }
}

const servers: FakeServer[] = []
function serve(handler: Handler): FakeServer {
  const server = new FakeServer(handler)
  servers.push(server)
  return server
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()))
})

/** A transport on a pace that waits for nothing (its pauses are recorded), FAST_RETRY unless `retry` says otherwise. */
function transport(
  credential: Credential,
  options: Partial<TransportOptions> & {retry?: RetryPolicy} = {},
): {transport: Transport; events: RequestEvent[]; pace: TestPace} {
  const events: RequestEvent[] = []
  const {retry, ...rest} = options
  const pace = testPace({retry: retry ?? FAST_RETRY})
  return {transport: new Transport({credentials: async () => credential, pace, onRequest: (e) => events.push(e), ...rest}), events, pace}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A token-service registry: `/v2/` challenges, `/token` issues `tok-SECRET-<n>` to alice (checking her password),
 * and manifests need a token `accept` likes.
 */
function bearerRegistry(options: {accept?: (token: string) => boolean; tokenDelayMs?: number} = {}): FakeServer {
  let issued = 0
  const challenge = (server: FakeServer, scope?: string) => `Bearer realm="${server.baseUrl}/token",service="test-registry"${scope ? `,scope="${scope}"` : ''}`
  const valid = new Set<string>()
  return serve(async (req, url, server) => {
    if (url.pathname === '/v2/') return new Response('{}', {status: 401, headers: {'www-authenticate': challenge(server)}})
    if (url.pathname === '/token') {
      if (options.tokenDelayMs) await sleep(options.tokenDelayMs)
      const basic = req.headers.get('authorization')
      const form = req.method === 'POST' ? new URLSearchParams(server.hits.at(-1)?.body) : null
      const allowed = basic === `Basic ${btoa(`alice:${PASSWORD}`)}` || form?.get('refresh_token') === 'identity-SECRET'
      if (!allowed) return new Response('{"details":"incorrect username or password"}', {status: 401})
      const token = `tok-SECRET-${++issued}`
      valid.add(token)
      return Response.json({token, expires_in: 300})
    }
    const token = req.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''
    const scope = `repository:${url.pathname.split('/').slice(2, -2).join('/')}:pull`
    if (!valid.has(token) || (options.accept && !options.accept(token))) {
      return Response.json(
        {errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]},
        {status: 401, headers: {'www-authenticate': challenge(server, scope)}},
      )
    }
    if (url.pathname.endsWith('/forbidden'))
      return Response.json({errors: [{code: 'DENIED', message: 'requested access to the resource is denied'}]}, {status: 403})
    return new Response(`manifest of ${url.pathname}`)
  })
}

describe('Transport: bearer tokens', () => {
  test('challenge → token with service and scope → request with the token, reused for the same scope', async () => {
    const server = bearerRegistry()
    const {transport: t} = transport(ALICE)
    const get = (path: string, scope: string) => t.request({endpoint: server.endpoint, method: 'GET', path, scopes: [scope]})

    const first = await get(MANIFEST, PULL_BUSYBOX)
    expect(first.status).toBe(200)
    expect(await first.text()).toBe(`manifest of ${MANIFEST}`)
    const tokenHits = server.hitsTo('/token')
    expect(tokenHits).toHaveLength(1)
    expect(tokenHits[0]?.query.get('service')).toBe('test-registry')
    expect(tokenHits[0]?.query.getAll('scope')).toStrictEqual([PULL_BUSYBOX])
    expect(tokenHits[0]?.authorization).toBe(`Basic ${btoa(`alice:${PASSWORD}`)}`)
    expect(server.hitsTo(MANIFEST).map((h) => h.authorization)).toStrictEqual(['Bearer tok-SECRET-1'])

    for (let i = 0; i < 3; i++) expect((await get(MANIFEST, PULL_BUSYBOX)).status).toBe(200)
    expect(server.hitsTo('/token')).toHaveLength(1)

    // Another scope needs another token.
    expect((await get('/v2/library/alpine/manifests/3', 'repository:library/alpine:pull')).status).toBe(200)
    expect(server.hitsTo('/token').map((h) => h.query.getAll('scope'))).toStrictEqual([[PULL_BUSYBOX], ['repository:library/alpine:pull']])
    // The endpoint is asked how to authenticate once.
    expect(server.hitsTo('/v2/')).toHaveLength(1)
  })

  test('a cached token is renewed once the pace clock passes its lifetime (less the early renewal)', async () => {
    const server = bearerRegistry()
    const {transport: t, pace} = transport(ALICE)
    const get = () => t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]})
    expect((await get()).status).toBe(200)
    // expires_in 300: kept for 290 s, renewed 10 s early.
    pace.advance(289_000)
    expect((await get()).status).toBe(200)
    expect(server.hitsTo('/token')).toHaveLength(1)
    pace.advance(2_000)
    expect((await get()).status).toBe(200)
    expect(server.hitsTo('/token')).toHaveLength(2)
    expect(server.hitsTo(MANIFEST).map((h) => h.authorization)).toStrictEqual(['Bearer tok-SECRET-1', 'Bearer tok-SECRET-1', 'Bearer tok-SECRET-2'])
  })

  test('a credential is looked up once a minute, not per request: a workload identity renews its token meanwhile', async () => {
    const server = bearerRegistry()
    let lookups = 0
    const {transport: t, pace} = transport(ALICE, {
      credentials: async () => {
        lookups++
        return ALICE
      },
    })
    const get = () => t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]})
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(200)
    expect(lookups).toBe(1)
    pace.advance(59_000)
    expect((await get()).status).toBe(200)
    expect(lookups).toBe(1)
    pace.advance(2_000)
    expect((await get()).status).toBe(200)
    expect(lookups).toBe(2)
  })

  test('20 concurrent requests of one scope fetch the token once', async () => {
    const server = bearerRegistry({tokenDelayMs: 30})
    const {transport: t} = transport(ALICE)
    const responses = await Promise.all(
      Array.from({length: 20}, () => t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]})),
    )
    expect(responses.map((r) => r.status)).toStrictEqual(Array(20).fill(200))
    expect(server.hitsTo('/token')).toHaveLength(1)
    expect(server.hitsTo('/v2/')).toHaveLength(1)
    expect(server.hitsTo(MANIFEST)).toHaveLength(20)
  })

  test('a 401 for a token renews it once and retries', async () => {
    // The first token is "expired" on arrival; the second is accepted.
    const server = bearerRegistry({accept: (token) => token !== 'tok-SECRET-1'})
    const {transport: t} = transport(ALICE)
    const response = await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]})
    expect(response.status).toBe(200)
    expect(server.hitsTo('/token')).toHaveLength(2)
    expect(server.hitsTo(MANIFEST).map((h) => h.authorization)).toStrictEqual(['Bearer tok-SECRET-1', 'Bearer tok-SECRET-2'])
  })

  test('a 401 that persists after renewing is final: renewed once, not in a loop', async () => {
    const server = bearerRegistry({accept: () => false})
    const {transport: t} = transport(ALICE)
    const error = await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(401)
    expect((error as RegistryError).hasCode('UNAUTHORIZED')).toBe(true)
    expect(server.hitsTo('/token')).toHaveLength(2)
    expect(server.hitsTo(MANIFEST)).toHaveLength(2)
  })

  test('a registry token is sent as is, without the token service', async () => {
    const server = serve((req, url) => {
      if (url.pathname === '/v2/')
        return new Response(null, {status: 401, headers: {'www-authenticate': `Bearer realm="http://127.0.0.1:1/token",service="s"`}})
      return req.headers.get('authorization') === 'Bearer registry-SECRET' ? new Response('ok') : new Response(null, {status: 401})
    })
    const {transport: t} = transport({kind: 'registry-token', token: 'registry-SECRET'})
    expect((await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]})).status).toBe(200)
    expect(server.hitsTo('/token')).toHaveLength(0)
  })

  test('an identity token is exchanged with a refresh-token grant', async () => {
    const server = bearerRegistry()
    const {transport: t} = transport({kind: 'identity-token', token: 'identity-SECRET'})
    expect((await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]})).status).toBe(200)
    const [hit] = server.hitsTo('/token')
    expect(hit?.method).toBe('POST')
    const form = new URLSearchParams(hit?.body)
    expect([form.get('grant_type'), form.get('refresh_token'), form.get('service'), form.get('scope')]).toStrictEqual([
      'refresh_token',
      'identity-SECRET',
      'test-registry',
      PULL_BUSYBOX,
    ])
  })

  test('a wrong password is an AuthenticationError naming the user, not the password', async () => {
    const server = bearerRegistry()
    const {transport: t} = transport({kind: 'basic', username: 'alice', password: 'wrong-SECRET'})
    const error = await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AuthenticationError)
    expect((error as AuthenticationError).status).toBe(401)
    expect((error as Error).message).toContain('as "alice"')
    expect((error as Error).message).not.toContain('wrong-SECRET')
  })
})

describe('Transport: Basic', () => {
  const basicRegistry = () =>
    serve((req, url) => {
      const challenge = {'www-authenticate': 'Basic realm="test"'}
      if (url.pathname === '/v2/') return new Response(null, {status: 401, headers: challenge})
      if (req.headers.get('authorization') !== `Basic ${btoa(`alice:${PASSWORD}`)}`) return new Response(null, {status: 401, headers: challenge})
      return new Response('ok')
    })

  test('sends the credential as a Basic header', async () => {
    const server = basicRegistry()
    const {transport: t} = transport(ALICE)
    expect((await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]})).status).toBe(200)
    expect(server.hitsTo(MANIFEST).map((h) => h.authorization)).toStrictEqual([`Basic ${btoa(`alice:${PASSWORD}`)}`])
    expect(server.hitsTo('/token')).toHaveLength(0)
  })

  test('anonymous against Basic ends in a RegistryError 401 after one renewal', async () => {
    const server = basicRegistry()
    const {transport: t} = transport({kind: 'anonymous'})
    const error = await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(401)
    expect(server.hitsTo(MANIFEST)).toHaveLength(2)
  })
})

describe('Transport: retries', () => {
  /** No auth; `path` answers with the statuses in turn, the last one for ever after. */
  function sequence(statuses: {status: number; headers?: Record<string, string>; body?: string}[]): FakeServer {
    let i = 0
    return serve((_req, url) => {
      if (url.pathname === '/v2/') return new Response('{}')
      const next = statuses[Math.min(i++, statuses.length - 1)]!
      return new Response(next.body ?? (next.status < 300 ? 'ok' : null), {status: next.status, headers: next.headers})
    })
  }
  const get = (t: Transport, server: FakeServer, extra: {allowStatus?: number[]} = {}) =>
    t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX], ...extra})

  test('429 with Retry-After: 1 waits a second, then succeeds', async () => {
    const server = sequence([{status: 429, headers: {'retry-after': '1'}}, {status: 200}])
    const waits: RateLimitWait[] = []
    const {transport: t, pace} = transport(
      {kind: 'anonymous'},
      {retry: {maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 5000}, onRateLimited: (w) => waits.push(w)},
    )
    expect((await get(t, server)).status).toBe(200)
    expect(pace.sleeps).toStrictEqual([1000])
    expect(waits).toStrictEqual([{registry: server.endpoint.registry, delayMs: 1000, retryAfterMs: 1000}])
    expect(server.hitsTo(MANIFEST)).toHaveLength(2)
  })

  test('Retry-After as an HTTP date is read on the pace clock', async () => {
    const {transport: t, pace} = transport({kind: 'anonymous'}, {retry: {maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 60_000}})
    const inSevenSeconds = new Date(Math.ceil(pace.now() / 1000) * 1000 + 7000).toUTCString()
    const server = sequence([{status: 503, headers: {'retry-after': inSevenSeconds}}, {status: 200}])
    expect((await get(t, server)).status).toBe(200)
    expect(pace.sleeps).toHaveLength(1)
    // The date has whole seconds; the clock has moved on a little (wall time) since it was read.
    expect(pace.sleeps[0]!).toBeGreaterThan(6000)
    expect(pace.sleeps[0]!).toBeLessThanOrEqual(8000)
  })

  test('a long Retry-After is capped by maxDelayMs', async () => {
    const server = sequence([{status: 429, headers: {'retry-after': '3600'}}, {status: 200}])
    const {transport: t, pace} = transport({kind: 'anonymous'}, {retry: {maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 30}})
    expect((await get(t, server)).status).toBe(200)
    expect(pace.sleeps).toStrictEqual([30])
    expect(server.hitsTo(MANIFEST)).toHaveLength(2)
  })

  test('500 then 200 succeeds on the second attempt, after one backoff pause', async () => {
    const server = sequence([{status: 500}, {status: 200}])
    const {transport: t, events, pace} = transport({kind: 'anonymous'})
    expect((await get(t, server)).status).toBe(200)
    expect(server.hitsTo(MANIFEST)).toHaveLength(2)
    // Attempt 1's pause: between half and all of baseDelayMs (full jitter).
    expect(pace.sleeps).toHaveLength(1)
    expect(pace.sleeps[0]!).toBeGreaterThanOrEqual(FAST_RETRY.baseDelayMs / 2)
    expect(pace.sleeps[0]!).toBeLessThanOrEqual(FAST_RETRY.baseDelayMs)
    expect(events.filter((e) => e.url.endsWith(MANIFEST)).map((e) => [e.status, e.attempt])).toStrictEqual([
      [500, 1],
      [200, 2],
    ])
  })

  test('exhausted retries end in a RegistryError with the status and the OCI diagnostics', async () => {
    const server = sequence([{status: 503, body: JSON.stringify({errors: [{code: 'UNAVAILABLE', message: 'try later'}]})}])
    const {transport: t, pace} = transport({kind: 'anonymous'})
    const error = await get(t, server).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as RegistryError).status).toBe(503)
    expect((error as RegistryError).message).toBe(`GET ${server.baseUrl}${MANIFEST}: UNAVAILABLE: try later`)
    expect(server.hitsTo(MANIFEST)).toHaveLength(FAST_RETRY.maxAttempts)
    // A pause between attempts, none after the last.
    expect(pace.sleeps).toHaveLength(FAST_RETRY.maxAttempts - 1)
  })

  const final: {status: number; allowed: boolean}[] = [
    {status: 404, allowed: true},
    {status: 404, allowed: false},
    {status: 400, allowed: false},
    {status: 403, allowed: false},
  ]
  for (const {status, allowed} of final) {
    test(`${status}${allowed ? ' (allowed)' : ''} is not retried${allowed ? ' and is returned' : ''}`, async () => {
      const server = sequence([{status}, {status: 200}])
      const {transport: t, pace} = transport({kind: 'anonymous'})
      const outcome = await get(t, server, allowed ? {allowStatus: [status]} : {}).catch((e: unknown) => e)
      if (allowed) expect((outcome as Response).status).toBe(status)
      else expect((outcome as RegistryError).status).toBe(status)
      expect(outcome instanceof RegistryError).toBe(!allowed)
      expect(server.hitsTo(MANIFEST)).toHaveLength(1)
      expect(pace.sleeps).toStrictEqual([])
    })
  }

  test('a slow server times out: NetworkError kind timeout after maxAttempts', async () => {
    const server = serve(async (_req, url) => {
      if (url.pathname === '/v2/') return new Response('{}')
      await sleep(1500)
      return new Response('too late')
    })
    const {transport: t, events, pace} = transport({kind: 'anonymous'}, {timeoutMs: 100, retry: {maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50}})
    const error = await get(t, server).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as NetworkError).kind).toBe('timeout')
    expect((error as NetworkError).message).toBe(`GET ${server.baseUrl}${MANIFEST} timed out`)
    expect(server.hitsTo(MANIFEST)).toHaveLength(2)
    expect(pace.sleeps).toHaveLength(1)
    expect(events.filter((e) => e.url.endsWith(MANIFEST)).map((e) => [e.status, e.attempt])).toStrictEqual([
      [null, 1],
      [null, 2],
    ])
  })

  test('an aborted request is not retried', async () => {
    // Aborted once the server holds the request (not after a fixed delay, which a loaded machine may outlast).
    const controller = new AbortController()
    const server = serve(async (_req, url) => {
      if (url.pathname === '/v2/') return new Response('{}')
      controller.abort()
      await sleep(1500)
      return new Response('too late')
    })
    const {transport: t} = transport({kind: 'anonymous'})
    const error = await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [], signal: controller.signal}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NetworkError)
    expect((error as NetworkError).kind).toBe('aborted')
    expect(server.hitsTo(MANIFEST)).toHaveLength(1)
  })
})

describe('Transport: secrets', () => {
  test('neither the password nor tokens reach onRequest events or error messages', async () => {
    const server = bearerRegistry()
    const {transport: t, events} = transport(ALICE)
    const messages: string[] = []
    const scopes = [PULL_BUSYBOX]
    await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes})
    const forbidden = await t
      .request({endpoint: server.endpoint, method: 'GET', path: '/v2/library/busybox/manifests/forbidden', scopes})
      .catch((e: unknown) => e)
    expect(forbidden).toBeInstanceOf(RegistryError)
    messages.push((forbidden as Error).message)
    // A pre-signed URL's signature is redacted in events and errors.
    const signed = await t
      .request({
        endpoint: server.endpoint,
        method: 'GET',
        path: '/v2/library/busybox/manifests/forbidden?X-Amz-Signature=sig-SECRET&X-Amz-Credential=cred-SECRET',
        scopes,
      })
      .catch((e: unknown) => e)
    expect(signed).toBeInstanceOf(RegistryError)
    messages.push((signed as Error).message)

    const text = JSON.stringify({events, messages})
    expect(events.length).toBeGreaterThanOrEqual(4)
    expect(text).toContain('X-Amz-Signature=REDACTED')
    for (const secret of [PASSWORD, 'tok-SECRET', 'sig-SECRET', 'cred-SECRET', btoa(`alice:${PASSWORD}`)]) {
      expect(text, `${secret} leaked`).not.toContain(secret)
    }
    // The test would see a leak: the server did receive the secrets.
    expect(JSON.stringify(server.hits.map((h) => h.authorization))).toContain('tok-SECRET-1')
  })

  test('an identity token does not reach events or errors either', async () => {
    const server = bearerRegistry({accept: () => false})
    const {transport: t, events} = transport({kind: 'identity-token', token: 'identity-SECRET'})
    const error = await t.request({endpoint: server.endpoint, method: 'GET', path: MANIFEST, scopes: [PULL_BUSYBOX]}).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryError)
    const text = JSON.stringify({events, message: (error as Error).message})
    expect(text).not.toContain('identity-SECRET')
    expect(text).not.toContain('tok-SECRET')
  })
})
